"""What a trained network looks at: class activation maps, gradients, occlusion, features.

Computations only (arrays in, arrays out); `cnnkit.io.explain_figures` draws them and
`cnnkit explain` wires both. Layers are named by path, so a layer inside a nested
keras.applications backbone is `mobilenetv2_1.00_224/Conv_1`.
"""
