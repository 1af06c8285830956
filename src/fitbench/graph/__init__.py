"""The workload IR: a typed graph with bound shapes, built from ONNX, PyTorch or the zoo."""

from .ir import Graph, Model, Node, Tensor

__all__ = ["Graph", "Model", "Node", "Tensor"]
