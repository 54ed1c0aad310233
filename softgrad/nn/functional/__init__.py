"""``softgrad.nn.functional``: stateless layers, activations and losses (PyTorch names).

One file per concept; this module only re-exports.
"""
from softgrad.nn.functional.activation import *  # noqa: F401,F403
from softgrad.nn.functional.attention import *  # noqa: F401,F403
from softgrad.nn.functional.linear import *  # noqa: F401,F403
from softgrad.nn.functional.loss import *  # noqa: F401,F403
from softgrad.nn.functional.normalization import *  # noqa: F401,F403
from softgrad.nn.functional.sparse import *  # noqa: F401,F403
from softgrad.nn.functional.conv import *  # noqa: F401,F403

from softgrad.nn.functional.pooling import *  # noqa: F401,F403
from softgrad.nn.functional.volume import *  # noqa: F401,F403
from softgrad.nn.functional.vision import *  # noqa: F401,F403
from softgrad.nn.functional.channel_dropout import *  # noqa: F401,F403
from softgrad.nn.functional.activation_extra import *  # noqa: F401,F403
from softgrad.nn.functional.distance import *  # noqa: F401,F403
from softgrad.nn.functional.normalization_extra import *  # noqa: F401,F403
from softgrad.nn.functional.dropout_extra import *  # noqa: F401,F403
from softgrad.nn.functional.vision_extra import *  # noqa: F401,F403
from softgrad.nn.functional.grid import *  # noqa: F401,F403
from softgrad.nn.functional.loss_extra import *  # noqa: F401,F403
from softgrad.nn.functional.ctc import *  # noqa: F401,F403
from softgrad.nn.functional.embedding_bag import *  # noqa: F401,F403
