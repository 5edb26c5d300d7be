"""Which face is which from frame to frame: rules on boxes, and followers."""
