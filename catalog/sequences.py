"""Sequence values: nextval and setval, as PostgreSQL hands them out, logged a block at a time.

As in PostgreSQL, sequences are not transactional: a value handed out is never
handed out again, even if the transaction that took it rolls back. A sequence's
state in the log (key ``S || oid``) is the last value *reserved*: values are
reserved 32 at a time in a store transaction of their own, so most nextval calls
write nothing. After a crash the rest of the last block is skipped, as
PostgreSQL skips its pre-logged values.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import msgpack

from catalog import layout
from catalog.objects import Sequence

BLOCK = 32  # values reserved per logged write (PostgreSQL's SEQ_LOG_VALS)


class SequenceError(Exception):
    """nextval past a limit (SQLSTATE 2200H), or a setval outside the bounds (22003)."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


@dataclass(slots=True)
class _State:
    last: int  # last value handed out (or the value setval set)
    called: bool  # whether ``last`` was handed out (PostgreSQL's is_called)
    reserved: int  # values up to here are logged as used


class SequenceAllocator:
    """Hands out values of a store's sequences; one per open store, safe across threads."""

    def __init__(self, store) -> None:
        self._store = store
        self._states: dict[int, _State] = {}
        self._lock = threading.Lock()

    def _state(self, seq: Sequence) -> _State:
        state = self._states.get(seq.oid)
        if state is None:
            entry = self._store.get(layout.sequence_key(seq.oid))
            if entry is None:
                state = _State(seq.start, False, seq.start - seq.increment)
            else:
                last, called = msgpack.unpackb(entry.value)
                # a restart resumes after everything logged; an uncalled value is still to be logged when used
                state = _State(last, called, last if called else last - seq.increment)
            self._states[seq.oid] = state
        return state

    def logs_next(self, seq: Sequence) -> bool:
        """Whether the next nextval of ``seq`` logs a block (a durable write): false for 31 calls out of 32."""
        with self._lock:
            state = self._states.get(seq.oid)
            if state is None or not state.called:
                return True
            value = state.last + seq.increment
            return not seq.min_value <= value <= seq.max_value or (value - state.reserved) * seq.increment > 0

    def nextval(self, seq: Sequence) -> int:
        """The next value of ``seq``; raises SequenceError past its limit unless it cycles."""
        with self._lock:
            state = self._state(seq)
            if not state.called:
                value = state.last
            else:
                value = state.last + seq.increment
                if value > seq.max_value or value < seq.min_value:
                    if not seq.cycle:
                        limit, word = (seq.max_value, "maximum") if seq.increment > 0 else (seq.min_value, "minimum")
                        raise SequenceError(f'nextval: reached {word} value of sequence "{seq.name}" ({limit})', "2200H")
                    value = seq.min_value if seq.increment > 0 else seq.max_value
                    state.reserved = value - seq.increment  # a wrap starts a new block
            if (value - state.reserved) * seq.increment > 0:
                self._reserve(seq, state, value)
            state.last, state.called = value, True
            return value

    def take(self, seq: Sequence, count: int) -> int | None:
        """``count`` consecutive values of an ascending, non-cycling sequence at once, logged in one write (a COPY's
        block of row ids): the first of them. None if the sequence is not like that or has not so many left."""
        if seq.increment != 1 or seq.cycle or count < 1:
            return None
        with self._lock:
            state = self._state(seq)
            first = state.last + 1 if state.called else state.last
            last = first + count - 1
            if first < seq.min_value or last > seq.max_value:
                return None
            if last > state.reserved:
                self._reserve(seq, state, last)
            state.last, state.called = last, True
            return first

    def _reserve(self, seq: Sequence, state: _State, value: int) -> None:
        """Log a block of values from ``value`` on as used (clipped to the sequence's range)."""
        end = value + (BLOCK - 1) * seq.increment
        end = min(end, seq.max_value) if seq.increment > 0 else max(end, seq.min_value)
        self._store.set(layout.sequence_key(seq.oid), msgpack.packb([end, True]))
        state.reserved = end

    def setval(self, seq: Sequence, value: int, is_called: bool = True) -> int:
        """Set the sequence so the next nextval returns value+increment (value if not is_called)."""
        if not seq.min_value <= value <= seq.max_value:
            raise SequenceError(
                f'setval: value {value} is out of bounds for sequence "{seq.name}" ({seq.min_value}..{seq.max_value})', "22003"
            )
        with self._lock:
            self._store.set(layout.sequence_key(seq.oid), msgpack.packb([value, is_called]))
            self._states[seq.oid] = _State(value, is_called, value if is_called else value - seq.increment)
        return value
