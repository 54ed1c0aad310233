"""Layers (``softgrad.nn.modules``); this module only re-exports."""
from softgrad.nn.modules.activation import (CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish,
                                            Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, Mish,
                                            PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmax2d,
                                            Softmin, Softplus, Softsign, Tanh, Tanhshrink,
                                            Threshold)
from softgrad.nn.modules.attention import MultiheadAttention
from softgrad.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from softgrad.nn.modules.conv import Conv3d
from softgrad.nn.modules.container import (ModuleDict, ModuleList, ParameterDict, ParameterList,
                                           Sequential)
from softgrad.nn.modules.dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from softgrad.nn.modules.dropout import FeatureAlphaDropout
from softgrad.nn.modules.activation_extra import ChannelShuffle, Hardshrink, RReLU, Softshrink
from softgrad.nn.modules.distance import CosineSimilarity, PairwiseDistance
from softgrad.nn.modules.embedding_bag import EmbeddingBag
from softgrad.nn.modules.lazy import (LazyConv1d, LazyConv2d, LazyConv3d, LazyLinear,
                                      LazyModuleMixin)
from softgrad.nn.modules.loss_extra import (CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss,
                                            HingeEmbeddingLoss, MarginRankingLoss,
                                            MultiLabelMarginLoss, MultiLabelSoftMarginLoss,
                                            MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss,
                                            TripletMarginLoss, TripletMarginWithDistanceLoss)
from softgrad.nn.modules.normalization_extra import LocalResponseNorm, RMSNorm
from softgrad.nn.modules.pooling_extra import LPPool1d, LPPool2d, LPPool3d
from softgrad.nn.modules.flatten import Flatten, Unflatten
from softgrad.nn.modules.instancenorm import InstanceNorm1d, InstanceNorm2d
from softgrad.nn.modules.linear import Bilinear, Identity, Linear
from softgrad.nn.modules.loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss,
                                      KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm,
                                               LayerNorm)
from softgrad.nn.modules.padding import (CircularPad1d, CircularPad2d, ConstantPad1d,
                                         ConstantPad2d, ReflectionPad1d, ReflectionPad2d,
                                         ReplicationPad1d, ReplicationPad2d, ZeroPad1d,
                                         ZeroPad2d)
from softgrad.nn.modules.pooling import AdaptiveAvgPool3d, AvgPool3d, MaxPool3d
from softgrad.nn.modules.pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d,
                                         AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
                                         AvgPool2d, MaxPool1d, MaxPool2d, MaxUnpool1d,
                                         MaxUnpool2d)
from softgrad.nn.modules.rnn import (GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell,
                                     RNNCellBase)
from softgrad.nn.modules.sparse import Embedding
from softgrad.nn.modules.transformer import (Transformer, TransformerDecoder,
                                             TransformerDecoderLayer, TransformerEncoder,
                                             TransformerEncoderLayer)
from softgrad.nn.modules.upsampling import (Fold, PixelShuffle, PixelUnshuffle, Unfold,
                                            Upsample, UpsamplingBilinear2d,
                                            UpsamplingNearest2d)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Identity", "Linear", "Bilinear", "Flatten", "Unflatten", "BatchNorm1d", "BatchNorm2d",
           "BatchNorm3d", "LayerNorm", "GroupNorm", "Embedding", "ReLU", "ReLU6", "Sigmoid", "Tanh",
           "LeakyReLU", "GELU", "ELU", "CELU", "SELU", "SiLU", "Mish", "Softplus", "Softsign",
           "Hardtanh", "Hardsigmoid", "Hardswish", "Tanhshrink", "LogSigmoid", "Softmax",
           "LogSoftmax", "Softmin", "Softmax2d", "Threshold", "GLU", "PReLU", "Dropout",
           "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "CrossEntropyLoss", "NLLLoss",
           "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
           "KLDivLoss",
           "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
           "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
           "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
           "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "Upsample",
           "UpsamplingNearest2d", "UpsamplingBilinear2d", "Unfold", "Fold", "RNNBase", "RNN",
           "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
           "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer", "InstanceNorm1d", "InstanceNorm2d",
           "MaxUnpool1d", "MaxUnpool2d", "PixelShuffle", "PixelUnshuffle", "Conv3d", "MaxPool3d",
           "AvgPool3d", "AdaptiveAvgPool3d", "FeatureAlphaDropout", "ChannelShuffle", "Hardshrink",
           "RReLU", "Softshrink", "CosineSimilarity", "PairwiseDistance", "EmbeddingBag",
           "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyLinear", "LazyModuleMixin",
           "CosineEmbeddingLoss", "CTCLoss", "GaussianNLLLoss", "HingeEmbeddingLoss",
           "MarginRankingLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiMarginLoss", "PoissonNLLLoss", "SoftMarginLoss", "TripletMarginLoss",
           "TripletMarginWithDistanceLoss", "LocalResponseNorm", "RMSNorm", "LPPool1d",
           "LPPool2d", "LPPool3d"]
