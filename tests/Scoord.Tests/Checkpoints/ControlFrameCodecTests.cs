using System.Buffers;
using System.Buffers.Binary;
using Scoord.Coordinator.Control;

namespace Scoord.Tests.Checkpoints;

public sealed class ControlFrameCodecTests
{
    public static TheoryData<ControlFrame> Frames() => new(
        ControlFrame.CheckpointRequest(null),
        ControlFrame.CheckpointRequest("before-upgrade"),
        ControlFrame.Ping(),
        ControlFrame.Pong(),
        ControlFrame.Error("no checkpoint 'x'"),
        ControlFrame.Taken(12, 123456789, "ckpt-12"),
        ControlFrame.JoinRequest("{\"program\":\"/bin/sh\"}"),
        ControlFrame.StatusRequest(),
        ControlFrame.SendStdio(),
        ControlFrame.Joined(2, 4242),
        ControlFrame.Exited(2, 130),
        ControlFrame.StatusReport("{\"applications\":[]}"));

    [Theory]
    [MemberData(nameof(Frames))]
    public void RoundTrip_InOneOrManySegments(ControlFrame frame)
    {
        byte[] bytes = ControlFrameCodec.Encode(frame);
        Assert.Equal(ControlFrameCodec.EncodedSize(frame), bytes.Length);
        for (int split = 0; split <= bytes.Length; split++)
        {
            ReadOnlySequence<byte> buffer = Segments(bytes, split);
            Assert.True(ControlFrameCodec.TryParse(ref buffer, out ControlFrame back, out string? error), error);
            Assert.Equal(frame with { Text = frame.Text ?? (HasText(frame.Type) ? string.Empty : null) }, back);
            Assert.True(buffer.IsEmpty);
        }
    }

    [Fact]
    public void EveryPrefix_NeedsMoreBytes_AndLeavesTheBufferAlone()
    {
        byte[] bytes = ControlFrameCodec.Encode(ControlFrame.Taken(1, 2, "name"));
        for (int n = 0; n < bytes.Length; n++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, n);
            Assert.False(ControlFrameCodec.TryParse(ref buffer, out _, out string? error));
            Assert.Null(error);
            Assert.Equal(n, buffer.Length);
        }
    }

    [Fact]
    public void TwoFramesInOneBuffer_AreParsedInOrder()
    {
        byte[] bytes = [.. ControlFrameCodec.Encode(ControlFrame.Ping()), .. ControlFrameCodec.Encode(ControlFrame.CheckpointRequest("a"))];
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(ControlFrameCodec.TryParse(ref buffer, out ControlFrame first, out _));
        Assert.True(ControlFrameCodec.TryParse(ref buffer, out ControlFrame second, out _));
        Assert.Equal(ControlFrameType.Ping, first.Type);
        Assert.Equal("a", second.Text);
        Assert.False(ControlFrameCodec.TryParse(ref buffer, out _, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("00000000", "empty frame")]
    [InlineData("01001000", "exceeds")] // 1 MiB + 1: rejected from the prefix alone, without waiting for the body
    [InlineData("FFFFFFFF", "exceeds")]
    [InlineData("0100000077", "unknown frame type")]
    [InlineData("0200000002FF", "unexpected payload")]
    [InlineData("0300000001AABB", "payload too short")]
    [InlineData("050000000105000000", "out of bounds")]
    [InlineData("0700000001010000006100", "trailing")]
    [InlineData("0700000001020000006180", "UTF-8")]
    [InlineData("0600000001FFFFFFFF00", "out of bounds")]
    [InlineData("0B000000810100000002000000000000", "payload too short")]
    public void BadBytes_AreAnError_NotAnException(string hex, string expected)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(hex));
        Assert.False(ControlFrameCodec.TryParse(ref buffer, out _, out string? error));
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxLength_IsAccepted_OneMoreIsNot()
    {
        string name = new('n', ControlFrameCodec.MaxFrameLength - 1 - 4);
        byte[] bytes = ControlFrameCodec.Encode(ControlFrame.CheckpointRequest(name));
        Assert.Equal(ControlFrameCodec.MaxFrameLength, BinaryPrimitives.ReadInt32LittleEndian(bytes));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(ControlFrameCodec.TryParse(ref buffer, out ControlFrame back, out _));
        Assert.Equal(name, back.Text);
        Assert.Throws<ArgumentException>(() => ControlFrameCodec.Encode(ControlFrame.CheckpointRequest(name + "n")));
    }

    [Fact]
    public void FuzzTarget_RunsOnItsSeeds()
    {
        string dir = Scoord.Fuzz.FuzzTargets.CorpusDirectory("control-frame");
        Assert.True(Directory.GetFiles(dir).Length >= 3);
        foreach (string file in Directory.GetFiles(dir))
        {
            Scoord.Fuzz.Targets.ControlFrameTarget.Fuzz(File.ReadAllBytes(file));
        }
    }

    private static bool HasText(ControlFrameType type) =>
        type is ControlFrameType.Checkpoint or ControlFrameType.Error or ControlFrameType.CheckpointTaken
            or ControlFrameType.Join or ControlFrameType.StatusReport;

    internal static ReadOnlySequence<byte> Segments(byte[] bytes, int split)
    {
        if (split <= 0 || split >= bytes.Length)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes.AsMemory(0, split), 0);
        Segment last = first.Append(bytes.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
