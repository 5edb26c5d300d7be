"""A run: the frame loop, its view, its progress bar and its hold on the result."""
