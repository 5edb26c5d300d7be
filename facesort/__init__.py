"""face-classifier's parts, in layers: records at the bottom, the app at the top (see README, How it is built)."""
