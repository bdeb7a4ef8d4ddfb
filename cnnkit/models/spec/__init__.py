"""Turn a YAML layer spec into a Keras functional model.

One grammar serves chains and graphs: each item names one `keras.layers` class (or a block from
`model.blocks`) with its keyword arguments, and may carry `name:`, `inputs:` (one name or a list)
and `repeat:`. Without `inputs:` an item takes the previous item's output; the model input is
called `input`; the last item is the output unless `model.outputs` lists several.

Blocks are parameterised sub-graphs written in the same grammar:

    blocks:
      conv_bn:
        args: {filters: "???", strides: 1}    # "???": required (quoted inside {...})
        layers:
          - ConvND: {filters: $filters, kernel_size: 3, strides: $strides, padding: same}
          - BatchNormalization: {}
    layers:
      - {conv_bn: {filters: 32}, repeat: 2, name: stem}

`$arg` inserts an argument; a string holding `$arg` and arithmetic (`"$filters * 4"`) is computed
(numbers and + - * / // % ** only: nothing is executed). `$channels` is the last dimension of the
item's first input. `ND` in a layer name becomes `1D`/`2D`/`3D` after the spatial rank (`rank`
argument, else `model.rank`, else the input's rank), so one block serves signals, images and
volumes. An item's type may itself be an argument (`$shortcut: {...}` picks a block by name).
A block takes `inputs: [input, skip]` for several inputs and returns its last item (or `output:`).
Names inside a block instance get the instance name as prefix (`stem.1.conv2d_0`; other items
may refer to them so), and `repeat: 0` skips an item (its name then stands for its input). Every
failure names the item by its path, e.g. `model.layers[6] > model.blocks.conv_bn.layers[1]`.
"""

from cnnkit.models.spec.expansion import Node, keras_layer_classes, parse_layers
from cnnkit.models.spec.graph import build_from_spec

__all__ = ["Node", "build_from_spec", "keras_layer_classes", "parse_layers"]
