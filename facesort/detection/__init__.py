"""Finding faces: the detector protocol, the worker processes that run it, HOG's search plan."""
