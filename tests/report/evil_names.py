"""Names that carry markup: a report must show them as text and run none of them."""

EVIL_NODE = '<script>window.__pwned = "node"</script>'
EVIL_RELU = '<img src=x onerror="window.__pwned = \'img\'">'
EVIL_SOURCE = '<script>window.__pwned = "spec"</script> hand-made & <b>bold</b>'
