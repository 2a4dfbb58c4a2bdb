using FsCheck;
using FsCheck.Xunit;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;
using Xunit;

namespace Scoord.Tests.Journal;

public class RecordCodecTests
{
    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Property(MaxTest = 300)]
    public bool Intent_round_trips_exactly(long time, int pid, int tid, ushort op, ushort flags, int fd, ulong opFlags, uint mode,
        int injected, long offset, long length, uint uid, uint gid, ulong dev, ulong ino, byte kind, byte[] path, byte[] path2)
    {
        path ??= [];
        path2 ??= [];
        var intent = new OpIntent
        {
            TimeNs = time, Pid = pid, Tid = tid, Op = (OpCode)op, Flags = (IntentFlags)flags, Fd = fd, OpFlags = opFlags, Mode = mode,
            InjectedErrno = injected, Offset = offset, Length = length, Uid = uid, Gid = gid, Dev = dev, Ino = ino, Kind = (ObjectKind)kind,
        };
        byte[] buffer = new byte[RecordLayout.IntentRecordSize(path.Length, path2.Length)];
        Assert.True(RecordCodec.TryEncodeIntent(buffer, intent, path, path2, out int written));
        Assert.Equal(buffer.Length, written);
        Assert.True(RecordCodec.TryDecodeIntent(buffer, out OpIntent back, out ReadOnlySpan<byte> p1, out ReadOnlySpan<byte> p2, out DecodeError error));
        Assert.Equal(DecodeError.None, error);
        return back.Equals(intent) && p1.SequenceEqual(path) && p2.SequenceEqual(path2);
    }

    [Property(MaxTest = 300)]
    public bool Completion_round_trips_exactly(long time, long result, int errno, ulong dev, ulong ino)
    {
        var c = new OpCompletion { TimeNs = time, Result = result, Errno = errno, Dev = dev, Ino = ino };
        byte[] buffer = new byte[RecordLayout.CompletionRecordSize];
        Assert.True(RecordCodec.TryEncodeCompletion(buffer, c, out int written));
        Assert.Equal(buffer.Length, written);
        return RecordCodec.TryDecodeCompletion(buffer, out OpCompletion back, out _) && back.Equals(c);
    }

    [Property(MaxTest = 300)]
    public bool Process_event_round_trips_exactly(long time, ushort kind, int pid, int ppid, int exitCode, int signal, ulong cloneFlags, byte[] exe, byte[] argv)
    {
        exe ??= [];
        argv ??= [];
        var e = new ProcessEvent { TimeNs = time, Kind = (OpCode)kind, Pid = pid, Ppid = ppid, ExitCode = exitCode, Signal = signal, CloneFlags = cloneFlags };
        byte[] buffer = new byte[RecordLayout.ProcessRecordSize(exe.Length, argv.Length)];
        Assert.True(RecordCodec.TryEncodeProcess(buffer, e, exe, argv, out int written));
        Assert.Equal(buffer.Length, written);
        return RecordCodec.TryDecodeProcess(buffer, out ProcessEvent back, out ReadOnlySpan<byte> p, out ReadOnlySpan<byte> a, out _)
            && back.Equals(e) && p.SequenceEqual(exe) && a.SequenceEqual(argv);
    }

    [Fact]
    public void Meta_round_trips_exactly()
    {
        var meta = new JournalMeta { FormatVersion = 1, JournalId = Guid.NewGuid(), CreatedNs = 123456789 };
        byte[] buffer = new byte[RecordLayout.MetaRecordSize];
        Assert.True(RecordCodec.TryEncodeMeta(buffer, meta, out _));
        Assert.True(RecordCodec.TryDecodeMeta(buffer, out JournalMeta back, out _));
        Assert.Equal(meta, back);
    }

    [Property(MaxTest = 500)]
    public bool Any_single_byte_corruption_is_a_decode_error_never_an_exception(int pid, byte[] path, byte[] path2, NonNegativeInt position, byte mask)
    {
        path ??= [];
        path2 ??= [];
        byte[] record = new byte[RecordLayout.IntentRecordSize(path.Length, path2.Length)];
        OpIntent intent = Samples.Intent(pid & 0xFFFF);
        Assert.True(RecordCodec.TryEncodeIntent(record, intent, path, path2, out _));
        int at = position.Get % record.Length;
        record[at] ^= mask == 0 ? (byte)1 : mask;
        bool ok = RecordCodec.TryDecode(record, out _, out DecodeError error);
        return !ok && error != DecodeError.None;
    }

    [Property(MaxTest = 200)]
    public bool Any_single_byte_corruption_of_a_completion_or_process_event_is_detected(NonNegativeInt position, byte mask, bool process)
    {
        byte[] record;
        if (process)
        {
            record = new byte[RecordLayout.ProcessRecordSize(7, 10)];
            RecordCodec.TryEncodeProcess(record, new ProcessEvent { Kind = OpCode.Exec, Pid = 42 }, "/bin/sh"u8, "sh\0-c\0true"u8, out _);
        }
        else
        {
            record = new byte[RecordLayout.CompletionRecordSize];
            RecordCodec.TryEncodeCompletion(record, Samples.Completion(1), out _);
        }

        record[position.Get % record.Length] ^= mask == 0 ? (byte)0x80 : mask;
        return !RecordCodec.TryDecode(record, out _, out DecodeError error) && error != DecodeError.None;
    }

    [Property(MaxTest = 1000)]
    public bool Arbitrary_bytes_never_throw(byte[] input)
    {
        input ??= [];
        bool ok = RecordCodec.TryDecode(input, out _, out DecodeError error);
        return ok == (error == DecodeError.None);
    }

    [Fact]
    public void Each_check_reports_its_own_error()
    {
        byte[] good = new byte[RecordLayout.IntentRecordSize(4, 0)];
        RecordCodec.TryEncodeIntent(good, Samples.Intent(1), "/a/b"u8, default, out _);

        Assert.Equal(DecodeError.Truncated, DecodeOf(good.AsSpan(0, 5).ToArray()));
        Assert.Equal(DecodeError.LengthMismatch, DecodeOf(good.AsSpan(0, good.Length - 1).ToArray()));

        byte[] bad = (byte[])good.Clone();
        bad[20] ^= 1;
        Assert.Equal(DecodeError.ChecksumMismatch, DecodeOf(bad));

        Assert.Equal(DecodeError.UnknownType, DecodeOf(Resealed(good, r => r[0] = 9)));
        Assert.Equal(DecodeError.NewerVersion, DecodeOf(Resealed(good, r => r[1] = 2)));
        Assert.Equal(DecodeError.InvalidVersion, DecodeOf(Resealed(good, r => r[1] = 0)));
        Assert.Equal(DecodeError.UnknownFlags, DecodeOf(Resealed(good, r => r[2] = 1)));
        // path length (payload offset 84) claims 4 GiB.
        Assert.Equal(DecodeError.StringOutOfBounds, DecodeOf(Resealed(good, r => r.AsSpan(8 + 84, 4).Fill(0xFF))));
        Assert.Equal(DecodeError.ReservedNotZero, DecodeOf(Resealed(good, r => r[8 + 81] = 1)));

        Assert.False(RecordCodec.TryDecodeCompletion(good, out _, out DecodeError wrong));
        Assert.Equal(DecodeError.WrongType, wrong);
    }

    [Fact]
    public void Encoders_report_a_too_small_destination()
    {
        byte[] small = new byte[RecordLayout.IntentRecordSize(4, 0) - 1];
        Assert.False(RecordCodec.TryEncodeIntent(small, Samples.Intent(1), "/a/b"u8, default, out int written));
        Assert.Equal(0, written);
        Assert.False(RecordCodec.TryEncodeCompletion(new byte[RecordLayout.CompletionRecordSize - 1], Samples.Completion(1), out _));
    }

    private static DecodeError DecodeOf(byte[] record)
    {
        RecordCodec.TryDecode(record, out _, out DecodeError error);
        return error;
    }

    /// <summary>Applies a change, then fixes the checksum, so a later check is the one that fails.</summary>
    private static byte[] Resealed(byte[] record, Action<byte[]> change)
    {
        byte[] r = (byte[])record.Clone();
        change(r);
        int covered = r.Length - RecordLayout.ChecksumSize;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(covered), Crc32C.Compute(r.AsSpan(0, covered)));
        return r;
    }
}
