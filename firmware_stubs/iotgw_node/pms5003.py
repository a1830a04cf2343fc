# Plantower PMS5003: 32-byte frames, 0x42 0x4D, length 28, 13 data words, checksum.
import struct

FRAME_LENGTH = 32


class FrameError(Exception):
    pass


def parse_frame(frame):
    """{"pm2_5": ug/m3 (atmospheric)} from one frame; raises FrameError if it is not valid."""
    if len(frame) != FRAME_LENGTH or frame[0] != 0x42 or frame[1] != 0x4D:
        raise FrameError("not a PMS5003 frame")
    words = struct.unpack(">HHHHHHHHHHHHHHH", frame[2:])
    if words[0] != 28:
        raise FrameError("frame length %d, expected 28" % words[0])
    if sum(frame[:30]) != words[14]:
        raise FrameError("checksum mismatch")
    return {"pm2_5": float(words[5])}


def read_frame(stream):
    """The next valid frame's values from a byte stream (``read(n)`` like a UART): skips to
    the start bytes and past corrupt frames; None when the stream runs dry."""
    while True:
        first = stream.read(1)
        if not first:
            return None
        if first[0] != 0x42:
            continue
        rest = stream.read(FRAME_LENGTH - 1)
        if not rest or len(rest) < FRAME_LENGTH - 1:
            return None
        try:
            return parse_frame(first + rest)
        except FrameError:
            continue
