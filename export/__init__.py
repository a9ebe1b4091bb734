"""Export a trained generator to ONNX inside a self-describing rtconvert model bundle."""
