"""Pure computer vision: numpy arrays in, plain data out, no I/O beyond loading model weights."""
