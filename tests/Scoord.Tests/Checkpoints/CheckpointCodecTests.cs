using System.Text;
using Scoord.Journal;
using Scoord.Journal.Codec;

namespace Scoord.Tests.Checkpoints;

public sealed class CheckpointCodecTests
{
    [Theory]
    [InlineData(1, 1UL, "ckpt-1")]
    [InlineData(7, 123456789012UL, "before-upgrade")]
    [InlineData(int.MaxValue, ulong.MaxValue, "ünïcødé ✓")]
    public void RoundTrip(int id, ulong seq, string name)
    {
        var c = new CheckpointInfo(id, name, seq, 1_700_000_000_123_456_789, (ulong)id);
        byte[] record = CheckpointCodec.Encode(c);
        Assert.Equal(CheckpointCodec.RecordSize(Encoding.UTF8.GetByteCount(name)), record.Length);
        Assert.Equal((byte)RecordType.Checkpoint, record[0]);
        Assert.True(CheckpointCodec.TryDecode(record, out CheckpointInfo? back, out DecodeError error), error.ToString());
        Assert.Equal(c, back);
    }

    [Fact]
    public void EveryFlippedBit_IsDetected()
    {
        byte[] record = CheckpointCodec.Encode(new CheckpointInfo(3, "x", 42, 5, 3));
        for (int i = 0; i < record.Length * 8; i++)
        {
            byte[] copy = (byte[])record.Clone();
            copy[i / 8] ^= (byte)(1 << (i % 8));
            Assert.False(CheckpointCodec.TryDecode(copy, out _, out DecodeError error));
            Assert.NotEqual(DecodeError.None, error);
        }
    }

    [Fact]
    public void Truncated_AndOtherTypes_AreRejected()
    {
        byte[] record = CheckpointCodec.Encode(new CheckpointInfo(3, "name", 42, 5, 3));
        for (int n = 0; n < record.Length; n++)
        {
            Assert.False(CheckpointCodec.TryDecode(record.AsSpan(0, n), out _, out _));
        }

        byte[] meta = new byte[RecordLayout.MetaRecordSize];
        RecordCodec.TryEncodeMeta(meta, new Scoord.Journal.Model.JournalMeta { FormatVersion = 1, JournalId = Guid.NewGuid() }, out _);
        Assert.False(CheckpointCodec.TryDecode(meta, out _, out DecodeError wrong));
        Assert.Equal(DecodeError.WrongType, wrong);

        // The generic decoder leaves checkpoint records to CheckpointCodec.
        Assert.True(RecordCodec.TryReadFrame(record, out RecordType type, out _, out _, out _));
        Assert.Equal(RecordType.Checkpoint, type);
    }

    [Fact]
    public void PayloadChecks_IdZero_Reserved_Trailing()
    {
        byte[] name = "n"u8.ToArray();
        byte[] buffer = new byte[CheckpointCodec.RecordSize(name.Length) + 8];
        Assert.False(CheckpointCodec.TryEncode(buffer, 0, 1, 1, 1, name, out _));

        // Hand-built payloads sealed with a valid frame, so only the payload check can fail.
        Assert.Equal(DecodeError.InvalidValue, DecodePayload(p => p[0] = 0));
        Assert.Equal(DecodeError.ReservedNotZero, DecodePayload(p => p[5] = 1));
        Assert.Equal(DecodeError.StringOutOfBounds, DecodePayload(p => p[CheckpointCodec.FixedSize] = 9));
        Assert.Equal(DecodeError.TrailingBytes, DecodePayload(p => p[CheckpointCodec.FixedSize] = 0));
    }

    private static DecodeError DecodePayload(Action<byte[]> corrupt)
    {
        byte[] record = CheckpointCodec.Encode(new CheckpointInfo(1, "n", 1, 1, 1));
        byte[] payload = record[RecordLayout.HeaderSize..^RecordLayout.ChecksumSize];
        corrupt(payload);
        Assert.False(CheckpointCodec.TryParsePayload(payload, out _, out DecodeError error));
        return error;
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("12", false)]
    [InlineData("ckpt-3", false)]
    [InlineData(" x", false)]
    [InlineData("a\nb", false)]
    [InlineData("before-upgrade", true)]
    [InlineData("v1.2", true)]
    [InlineData("ckpt-x", true)]
    public void NameRules(string name, bool valid)
    {
        Assert.Equal(valid, CheckpointNames.Validate(name) is null);
    }
}
