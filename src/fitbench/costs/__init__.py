"""Op-cost rules. Importing this package registers every rule."""

from . import attention, control_flow, conv, data, elementwise, matmul, quantized, recurrent  # noqa: F401
from .registry import CostContext, GemmShape, InvalidModel, OpCost, Uncostable, lookup, register, registered_ops

__all__ = ["CostContext", "GemmShape", "InvalidModel", "OpCost", "Uncostable", "lookup", "register", "registered_ops"]
