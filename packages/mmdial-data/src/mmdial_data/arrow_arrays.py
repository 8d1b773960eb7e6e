"""Arrow arrays from Python lists and numpy arrays, and back, without pyarrow's pandas probe.

pyarrow probes for (and so imports) pandas on its first conversion of a Python list or numpy array, a cost each
process pays once; these helpers build the arrays from buffers instead (:func:`string_array`, :func:`numpy_array`,
:func:`column_array`) and read them back (:func:`to_numpy`). pyarrow and numpy are imported on first use.

Example:
    >>> column_array(["a", None], __import__("pyarrow").string()).to_pylist()
    ['a', None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


#: The largest byte count of one Arrow ``string`` array (32-bit offsets).
_MAX_STRING_BYTES = 2**31 - 1


def string_array(values: list[Any]) -> pa.Array:
    """``pa.array(values, pa.string())``, built from one UTF-8 buffer, its offsets and (with ``None`` among them)
    a validity bitmap when every value is a ``str`` or ``None`` (faster for short texts); anything else
    (other types, lone surrogates, over 2 GiB) goes to ``pa.array``, with its result or error. Unlike
    ``pa.array`` it never probes for (and so imports) pandas, which pyarrow does on the first conversion of a
    Python list or numpy array.

    >>> string_array(["a", "é", ""]).to_pylist(), string_array(["a", None]).to_pylist()
    (['a', 'é', ''], ['a', None])
    >>> string_array(["a", "é"]).equals(__import__("pyarrow").array(["a", "é"]))
    True
    """
    import numpy as np
    import pyarrow as pa

    n = len(values)
    strings, validity = values, None
    try:
        joined = "".join(values)
    except TypeError:  # None among them (a null), or another type (left to pa.array)
        if not set(map(type, values)) <= {str, type(None)}:
            return pa.array(values, pa.string())
        valid = np.fromiter((v is not None for v in values), bool, n)
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
        strings = ["" if v is None else v for v in values]
        joined = "".join(strings)
    try:
        data = joined.encode()
    except UnicodeEncodeError:
        return pa.array(values, pa.string())
    if len(data) > _MAX_STRING_BYTES:
        return pa.array(values, pa.string())
    if len(data) == len(joined):  # ASCII: a string's byte count is its length
        lengths = np.fromiter(map(len, strings), np.int64, n)
    else:
        lengths = np.fromiter(map(len, map(str.encode, strings)), np.int64, n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)])


def repeated_string(value: str, n: int) -> pa.Array:
    """:func:`string_array` of ``[value] * n`` (the same buffers) without building the list: the value's UTF-8
    bytes ``n`` times and evenly spaced offsets.

    >>> repeated_string("ab", 3).to_pylist(), repeated_string("é", 2).equals(string_array(["é", "é"]))
    (['ab', 'ab', 'ab'], True)
    """
    import numpy as np
    import pyarrow as pa

    data = value.encode()
    if len(data) * n > _MAX_STRING_BYTES:
        return string_array([value] * n)
    offsets = (np.arange(n + 1, dtype=np.int64) * len(data)).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)])


def concat_strings(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays of one length and Python strings (the same in every
    row), by Arrow (``binary_join_element_wise``); the Python strings become Arrow scalars by way of
    :func:`string_array`, as ``pa.scalar`` would import pandas (see there). At least one part is an array.

    >>> concat_strings("id/", string_array(["1", "22"]), "!").to_pylist()
    ['id/1!', 'id/22!']
    """
    import pyarrow.compute as pc

    texts = [p for p in parts if isinstance(p, str)]
    scalars = iter(string_array([*texts, ""]))
    args = [next(scalars) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, next(scalars))


def numpy_array(values: np.ndarray, type_: pa.DataType) -> pa.Array:
    """``pa.array(values, type_)`` of a 1-D numpy array, zero-copy when its dtype is the type's own (``bool``,
    ``int8``-``int64``, ``float64``), without pyarrow's pandas probe (see :func:`string_array`); other arrays
    and types go to ``pa.array``.

    >>> import numpy as np, pyarrow as pa
    >>> numpy_array(np.array([True, False, True]), pa.bool_()).to_pylist()
    [True, False, True]
    >>> numpy_array(np.arange(3, dtype=np.int32), pa.int32()).equals(pa.array([0, 1, 2], pa.int32()))
    True
    """
    import numpy as np
    import pyarrow as pa

    dtype = values.dtype
    if values.ndim == 1 and dtype.kind in "biuf" and dtype.isnative and dtype == type_.to_pandas_dtype():
        n = len(values)
        if values.dtype == np.bool_:
            return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
        return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(np.ascontiguousarray(values))])
    return pa.array(values, type_)


def single_chunk(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as it is (``combine_chunks`` copies even that one), else the
    chunks concatenated.

    >>> import pyarrow as pa
    >>> single_chunk(pa.chunked_array([[1, 2], [3]])).to_pylist(), type(single_chunk(pa.chunked_array([[1]])))
    ([1, 2, 3], <class 'pyarrow.lib.Int64Array'>)
    """
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def to_numpy(array: pa.Array | pa.ChunkedArray, fill: Any = None) -> np.ndarray:
    """The values of a bool, integer or float Arrow array as a numpy array (read-only: a view of the Arrow
    buffer where it can be), nulls replaced by ``fill``: ``array.fill_null(fill).to_numpy()`` without pyarrow's
    pandas probe (see :func:`string_array`).

    >>> import pyarrow as pa
    >>> to_numpy(pa.array([1, None, 3], pa.int32()), fill=0).tolist(), to_numpy(pa.array([True, None]), True).tolist()
    ([1, 0, 3], [True, True])
    """
    import numpy as np
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = single_chunk(array)
    type_ = array.type
    if not (pa.types.is_boolean(type_) or pa.types.is_integer(type_) or pa.types.is_floating(type_)):
        raise TypeError(f"to_numpy takes bool, integer or float arrays, not {type_}")
    n, offset = len(array), array.offset
    validity, data = array.buffers()[:2]

    def bits(buffer: pa.Buffer) -> np.ndarray:
        return np.unpackbits(np.frombuffer(buffer, np.uint8), count=offset + n, bitorder="little")[offset:].view(bool)

    if not n or data is None:  # no values buffer: nothing but nulls (the fill below)
        values = np.zeros(n, bool if pa.types.is_boolean(type_) else type_.to_pandas_dtype())
    elif pa.types.is_boolean(type_):
        values = bits(data)
    else:
        values = np.frombuffer(data, type_.to_pandas_dtype(), count=offset + n)[offset:]
    if array.null_count:
        if fill is None:
            raise ValueError("the array has nulls: give a fill value")
        values = np.where(bits(validity), values, fill)
    return values


def column_array(values: Any, type_: pa.DataType) -> pa.Array:
    """``values`` (an Arrow array, a Python list or a numpy array) as an Arrow array of ``type_``: like
    ``pa.array(values, type_)`` (a cast for Arrow arrays), by :func:`string_array`/:func:`numpy_array` where they
    apply (a list of Python ints becomes an int64 numpy array first, when all fit in ``type_``; a list of floats
    and Nones a float64 array and its validity bitmap).

    >>> import pyarrow as pa
    >>> column_array([0, 2, 5], pa.int32()).equals(pa.array([0, 2, 5], pa.int32()))
    True
    """
    import numpy as np
    import pyarrow as pa

    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    if isinstance(values, np.ndarray):
        return numpy_array(values, type_)
    if isinstance(values, list):
        if type_ == pa.string():
            return string_array(values)
        if pa.types.is_integer(type_) and set(map(type, values)) <= {int}:
            try:
                ints = np.array(values, np.int64)
            except OverflowError:
                return pa.array(values, type_)
            dtype = type_.to_pandas_dtype()
            bounds = np.iinfo(dtype)
            if not len(ints) or (bounds.min <= ints.min() and ints.max() <= bounds.max):
                return numpy_array(ints.astype(dtype), type_)
        if type_ == pa.float64() and set(map(type, values)) <= {float, type(None)}:
            floats = np.array([0.0 if v is None else v for v in values], np.float64)
            valid = np.fromiter((v is not None for v in values), bool, len(values))
            if valid.all():
                return numpy_array(floats, type_)
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
            return pa.Array.from_buffers(type_, len(values), [bitmap, pa.py_buffer(floats)])
    return pa.array(values, type_)
