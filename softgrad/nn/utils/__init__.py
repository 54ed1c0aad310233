"""``softgrad.nn.utils``: gradient clipping, parameter/vector conversion and ``rnn``
(packed variable-length sequences)."""
from softgrad.nn.utils.clip_grad import (clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                                         get_total_norm)
from softgrad.nn.utils import rnn
from softgrad.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

clip_grad_norm = clip_grad_norm_

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm", "parameters_to_vector", "vector_to_parameters"]
