namespace Scoord.Journal.Ring;

/// <summary>
/// The fast path's ring file (DIR/fastpath/ring), format version 1: offsets and constants. The C side
/// is interceptors/native/scoord-ring.h; tests/Scoord.Tests/FastPath/RingAbiTests compiles that header
/// and compares every value here. docs/journal-format.md, section 9, is the specification.
/// </summary>
public static class RingLayout
{
    public const ulong Magic = 0x474e495244524353; // "SCRDRING"
    public const uint Version = 1;

    public const string DirectoryName = "fastpath";
    public const string RingFileName = "ring";
    public const string StubFileName = "stub";

    /// <summary>Where every process of the tree maps the stub page (`syscall; ret`).</summary>
    public const ulong StubAddress = 0x70000000;
    public const uint StubSize = 4096;

    public const uint HeaderSize = 4096;
    public const uint PolicyOffset = 4096;
    public const uint PolicySize = 256 * 1024;
    public const uint ProcOffset = PolicyOffset + PolicySize;
    public const uint ProcCount = 8192;
    public const uint ClaimOffset = ProcOffset + (ProcCount * 8);
    public const uint ClaimCount = 65536;
    public const uint DevOffset = ClaimOffset + (ClaimCount * 4);
    public const uint DevCount = 256;
    public const uint EpochOffset = DevOffset + (DevCount * 16);
    public const uint EpochCount = 1u << 17;
    public const uint EpochEntrySize = 32;
    public const uint SlotOffset = EpochOffset + (EpochCount * EpochEntrySize);
    public const uint SlotCount = 512;
    public const uint SlotHeaderSize = 256;
    public const uint RingSize = 1024 * 1024;
    public const uint SlotSize = SlotHeaderSize + RingSize;
    public const ulong FileSize = SlotOffset + ((ulong)SlotCount * SlotSize);
    public const uint MaxRecord = 160 * 1024;

    /// <summary>Header flags.</summary>
    public const uint FlagBarrier = 1;
    public const uint FlagOff = 2;

    /// <summary>The notify syscall: seccomp(NotifyOp, 0, 0) from a hook that ends while a barrier is up.</summary>
    public const uint NotifyOp = 0x53434f44;

    public const uint ProcOff = 1;
    public const uint ProcGuarded = 2;

    public const uint SlotDead = 1;
    public const uint SlotReady = 2;
    public const uint StateIdle = 0;
    public const uint StateCall = 1;

    public const uint ClaimTracer = 0x80000000;

    public const ushort RecordIntent = 1;
    public const ushort RecordDone = 2;
    public const ushort RecordWrap = 3;

    public const byte DoneSupersede = 1;

    /// <summary>The largest file the fast path keeps whole in the ring when it is removed; bigger ones go the ptrace way.</summary>
    public const uint RemovedLimit = 64 * 1024;

    public const int RecordHeaderSize = 16;
    public const int IntentSize = 96;
    public const int ItemSize = 96;
    public const int DoneSize = 40;

    /// <summary>Pseudo inode numbers of the per-device "inode allocated / freed" claims (as InFlightOps).</summary>
    public const ulong AllocatingKey = ulong.MaxValue;
    public const ulong FreeingKey = ulong.MaxValue - 1;

    /// <summary>The claim-table index of an identity (the C side's claim_index).</summary>
    public static uint ClaimIndex(ulong dev, ulong ino) => (uint)(Mix64(unchecked(dev * 0x9e3779b97f4a7c15UL) ^ ino) % ClaimCount);

    /// <summary>The process-table start index of a thread group (the C side's proc_entry).</summary>
    public static uint ProcIndex(uint tgid) => (uint)(Mix64(tgid) % ProcCount);

    public static ulong Mix64(ulong x)
    {
        unchecked
        {
            x ^= x >> 33;
            x *= 0xff51afd7ed558ccdUL;
            x ^= x >> 33;
            x *= 0xc4ceb9fe1a85ec53UL;
            x ^= x >> 33;
            return x;
        }
    }
}
