"""softgrad.utils.data: datasets, samplers, DataLoader, default_collate."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
from softgrad.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                                 RandomSampler, Sampler, SequentialSampler, Subset,
                                 SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                 default_collate, random_split)

try:
    import torch
except Exception:  # pragma: no cover - depends on the machine
    torch = None


def _dataset(n: int = 10) -> TensorDataset:
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(sg.tensor(x), sg.arange(n))


class _ListDataset(Dataset):
    """A dataset read sample by sample (no fast path)."""

    def __init__(self, ds: TensorDataset) -> None:
        self.ds = ds
        self.calls = 0

    def __getitem__(self, i):
        self.calls += 1
        return self.ds[i]

    def __len__(self) -> int:
        return len(self.ds)


def _labels(loader) -> list:
    return [int(v) for _, y in loader for v in y.numpy()]


# ---------------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_length():
    ds = _dataset(5)
    x, y = ds[2]
    assert len(ds) == 5 and x.tolist() == [6.0, 7.0, 8.0] and y.item() == 2
    assert TensorDataset(np.zeros((4, 2))).tensors[0].dtype == sg.float64


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match=r"Size mismatch.*\(3, 2\).*\(4,\)"):
        TensorDataset(sg.zeros(3, 2), sg.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_concat_dataset_indexing():
    a, b = _dataset(3), _dataset(4)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert [cat[i][1].item() for i in range(7)] == [0, 1, 2, 0, 1, 2, 3]
    assert cat[-1][1].item() == 3 and cat[-7][1].item() == 0
    for bad in (7, -8):
        with pytest.raises(IndexError, match="out of range"):
            cat[bad]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_subset_indexing():
    sub = Subset(_dataset(10), [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7
    assert [s[1].item() for s in sub[[2, 1]]] == [5, 2]


# ---------------------------------------------------------------------- random_split
def test_random_split_ints_is_a_partition_and_seeded():
    ds = _dataset(20)
    parts = random_split(ds, [12, 8], generator=sg.Generator().manual_seed(3))
    idx = [i for p in parts for i in p.indices]
    assert [len(p) for p in parts] == [12, 8] and sorted(idx) == list(range(20))
    again = random_split(ds, [12, 8], generator=sg.Generator().manual_seed(3))
    assert again[0].indices == parts[0].indices
    other = random_split(ds, [12, 8], generator=np.random.default_rng(4))
    assert other[0].indices != parts[0].indices


def test_random_split_follows_manual_seed():
    sg.manual_seed(5)
    a = random_split(range(30), [10, 20])[0].indices
    sg.manual_seed(5)
    assert random_split(range(30), [10, 20])[0].indices == a


@pytest.mark.filterwarnings("ignore:Length of split")
@pytest.mark.parametrize("n,fracs", [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]),
                                     (101, [0.8, 0.1, 0.1]), (3, [0.2, 0.2, 0.2, 0.2, 0.2])])
def test_random_split_fraction_lengths_match_torch_rule(n, fracs):
    lengths = [len(p) for p in random_split(range(n), fracs)]
    assert sum(lengths) == n
    if torch is not None:
        expected = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
        assert lengths == expected


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\).*\(10\)"):
        random_split(range(10), [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(range(10), [0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(range(10), [12, -2])


# ---------------------------------------------------------------------- DataLoader
def test_sequential_batches_match_slices():
    ds = _dataset(10)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(batches[1][0].numpy(), ds.tensors[0].numpy()[4:8])
    assert batches[0][1].dtype == sg.int64 and batches[0][0].dtype == sg.float32


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop_last=st.booleans(),
       shuffle=st.booleans())
def test_len_matches_batches_yielded(n, bs, drop_last, shuffle):
    loader = DataLoader(_dataset(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == (n // bs if drop_last else -(-n // bs))
    assert all(len(b[1]) == bs for b in batches[:-1])
    labels = sorted(_labels(batches))
    if not drop_last:
        assert labels == list(range(n))
    assert len(set(labels)) == len(labels)


def test_shuffle_is_deterministic_under_manual_seed():
    ds = _dataset(50)
    sg.manual_seed(0)
    first = _labels(DataLoader(ds, batch_size=8, shuffle=True))
    second_epoch = None
    sg.manual_seed(0)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    assert _labels(loader) == first
    second_epoch = _labels(loader)
    assert second_epoch != first and sorted(second_epoch) == list(range(50))
    sg.manual_seed(1)
    assert _labels(DataLoader(ds, batch_size=8, shuffle=True)) != first


def test_shuffle_with_explicit_generators():
    ds = _dataset(40)
    a = _labels(DataLoader(ds, 5, shuffle=True, generator=sg.Generator().manual_seed(7)))
    b = _labels(DataLoader(ds, 5, shuffle=True, generator=sg.Generator().manual_seed(7)))
    c = _labels(DataLoader(ds, 5, shuffle=True, generator=np.random.default_rng(7)))
    assert a == b and sorted(c) == list(range(40)) and a != list(range(40))


def test_fast_path_equals_per_sample_path():
    ds = _dataset(37)
    slow_ds = _ListDataset(ds)
    for kw in ({"shuffle": True}, {"shuffle": False, "drop_last": True}):
        fast = list(DataLoader(ds, 6, generator=sg.Generator().manual_seed(2), **kw))
        slow = list(DataLoader(slow_ds, 6, generator=sg.Generator().manual_seed(2), **kw))
        assert len(fast) == len(slow)
        for f, s in zip(fast, slow):
            assert isinstance(f, list) and isinstance(s, list)
            for a, b in zip(f, s):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert slow_ds.calls > 0


def test_fast_path_never_indexes_samples(monkeypatch):
    ds = _dataset(30)

    def boom(self, i):
        raise AssertionError("per-sample __getitem__ called")

    monkeypatch.setattr(TensorDataset, "__getitem__", boom)
    assert sorted(_labels(DataLoader(ds, batch_size=7, shuffle=True))) == list(range(30))
    train, _ = random_split(ds, [20, 10])
    assert sorted(_labels(DataLoader(train, batch_size=3))) == sorted(train.indices)


def test_subset_of_subset_fast_path_reads_right_rows():
    ds = _dataset(20)
    inner = Subset(ds, list(range(19, -1, -1)))
    outer = Subset(inner, [0, 5, 7])
    assert _labels(DataLoader(outer, batch_size=2)) == [19, 14, 12]


def test_custom_sampler_and_batch_sampler():
    class Reverse(Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    ds = _dataset(7)
    assert _labels(DataLoader(ds, batch_size=3, sampler=Reverse(7))) == [6, 5, 4, 3, 2, 1, 0]
    loader = DataLoader(ds, batch_sampler=[[0, 2], [4, 6, 1]])
    assert [b[1].tolist() for b in loader] == [[0, 2], [4, 6, 1]] and len(loader) == 2
    assert list(BatchSampler(Reverse(5), 2, drop_last=True)) == [[4, 3], [2, 1]]


def test_batch_sampler_lists_and_errors():
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(SequentialSampler(range(5)), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(SequentialSampler(range(5)), 2, 1)


def test_random_samplers():
    sg.manual_seed(0)
    rs = RandomSampler(range(5), replacement=True, num_samples=50)
    draws = list(rs)
    assert len(draws) == len(rs) == 50 and set(draws) <= set(range(5)) and len(set(draws)) == 5
    longer = list(RandomSampler(range(4), num_samples=10))
    assert len(longer) == 10 and sorted(longer[:4]) == [0, 1, 2, 3]
    sub = list(SubsetRandomSampler([3, 9, 11]))
    assert sorted(sub) == [3, 9, 11]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200))
    assert set(w) == {1, 3} and w.count(3) > w.count(1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 3)


def test_mutually_exclusive_options():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, num_workers=-1)


def test_unbatched_loading_and_user_collate():
    ds = _dataset(3)
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 3 and items[1][0].shape == (3,)
    sums = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: sum(int(s[1]) for s in b)))
    assert sums == [1, 2]


def test_iterable_dataset_batches():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter({"x": np.full(2, i, np.float32), "y": i} for i in range(5))

    batches = list(DataLoader(Stream(), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].shape == (2, 2)
    assert len(list(DataLoader(Stream(), batch_size=2, drop_last=True))) == 2
    with pytest.raises(TypeError):
        len(DataLoader(Stream(), batch_size=2))
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(), shuffle=True)


# ---------------------------------------------------------------------- collate
def test_default_collate_dtypes_and_structure():
    Point = namedtuple("Point", "a b")
    batch = [(np.zeros(2), 1.5, 3, True, "s", {"k": np.int32(4)}, Point(1, np.float64(2.0))),
             (np.ones(2), 2.5, 4, False, "t", {"k": np.int32(5)}, Point(2, np.float64(3.0)))]
    arr, floats, ints, bools, strs, d, p = default_collate(batch)
    assert arr.dtype == sg.float64 and arr.shape == (2, 2)  # numpy float64 kept, as torch
    assert floats.dtype == sg.float32 and floats.tolist() == [1.5, 2.5]
    assert ints.dtype == sg.int64 and bools.dtype == sg.bool
    assert strs == ["s", "t"] and d["k"].dtype == sg.int32 and d["k"].tolist() == [4, 5]
    assert isinstance(p, Point) and p.a.tolist() == [1, 2] and p.b.dtype == sg.float64


def test_default_collate_stacks_tensors_and_keeps_graph():
    w = sg.ones(3, requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    assert batch.shape == (2, 3)
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0, 5.0]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match=r"equal size.*\[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([sg.zeros(2), sg.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="default_collate: batch must contain.*object"):
        default_collate([np.array([None]), np.array([None])])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_default_collate_matches_torch_layout():
    batch = [(np.arange(3.0), np.int64(1), {"m": np.eye(2, dtype=np.float32)}),
             (np.arange(3.0) + 1, np.int64(0), {"m": np.zeros((2, 2), np.float32)})]
    ours = default_collate(batch)
    ref = torch.utils.data.default_collate(batch)
    assert type(ours) is type(ref) and len(ours) == len(ref)
    for a, b in [(ours[0], ref[0]), (ours[1], ref[1]), (ours[2]["m"], ref[2]["m"])]:
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_dataloader_signature_matches_torch():
    import inspect

    ours = list(inspect.signature(DataLoader.__init__).parameters)
    assert ours == list(inspect.signature(torch.utils.data.DataLoader.__init__).parameters)
