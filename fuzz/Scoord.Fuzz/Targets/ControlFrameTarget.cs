using System.Buffers;
using Scoord.Coordinator.Control;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for the control socket's frame parser (bytes from any local process of the same uid).
/// The input is parsed as a stream of frames, once in one segment and once split in two at a point the
/// first byte chooses. Invariants: no exception; both splits give the same frames and the same error;
/// a parsed frame re-encodes to exactly the bytes it was parsed from; a "need more" never consumes.
/// </summary>
public static class ControlFrameTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        List<(ControlFrame Frame, byte[] Raw)> whole = ParseAll(new ReadOnlySequence<byte>(bytes), out string? error1);
        int split = bytes.Length == 0 ? 0 : bytes[0] % (bytes.Length + 1);
        List<(ControlFrame Frame, byte[] Raw)> parts = ParseAll(Split(bytes, split), out string? error2);
        if (whole.Count != parts.Count || !string.Equals(error1, error2, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("parsing depends on how the bytes are segmented");
        }

        for (int i = 0; i < whole.Count; i++)
        {
            if (whole[i].Frame != parts[i].Frame)
            {
                throw new InvalidOperationException("parsing depends on how the bytes are segmented");
            }

            if (!ControlFrameCodec.Encode(whole[i].Frame).AsSpan().SequenceEqual(whole[i].Raw))
            {
                throw new InvalidOperationException("a parsed frame does not re-encode to its bytes");
            }
        }
    }

    private static List<(ControlFrame, byte[])> ParseAll(ReadOnlySequence<byte> buffer, out string? error)
    {
        var frames = new List<(ControlFrame, byte[])>();
        while (true)
        {
            ReadOnlySequence<byte> before = buffer;
            if (!ControlFrameCodec.TryParse(ref buffer, out ControlFrame frame, out error))
            {
                if (buffer.Length != before.Length)
                {
                    throw new InvalidOperationException("a failed parse consumed bytes");
                }

                return frames;
            }

            long used = before.Length - buffer.Length;
            if (used <= ControlFrameCodec.LengthSize)
            {
                throw new InvalidOperationException("a parsed frame consumed no body");
            }

            frames.Add((frame, before.Slice(0, used).ToArray()));
        }
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int at)
    {
        if (at <= 0 || at >= bytes.Length)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes.AsMemory(0, at), 0);
        var second = new Segment(bytes.AsMemory(at), at);
        first.SetNext(second);
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
