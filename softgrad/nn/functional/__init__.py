"""``softgrad.nn.functional``: stateless layers, activations and losses (PyTorch names).

One file per concept; this module only re-exports.
"""
from softgrad.nn.functional.activation import *
from softgrad.nn.functional.attention import *
from softgrad.nn.functional.linear import *
from softgrad.nn.functional.loss import *
from softgrad.nn.functional.normalization import *
from softgrad.nn.functional.sparse import *
from softgrad.nn.functional.conv import *

from softgrad.nn.functional.pooling import *
from softgrad.nn.functional.volume import *
from softgrad.nn.functional.vision import *
from softgrad.nn.functional.channel_dropout import *
from softgrad.nn.functional.activation_extra import *
from softgrad.nn.functional.distance import *
from softgrad.nn.functional.normalization_extra import *
from softgrad.nn.functional.dropout_extra import *
from softgrad.nn.functional.vision_extra import *
from softgrad.nn.functional.grid import *
from softgrad.nn.functional.loss_extra import *
from softgrad.nn.functional.ctc import *
from softgrad.nn.functional.embedding_bag import *
