using System.Runtime.InteropServices;

namespace Scoord.Journal.Ring;

/// <summary>struct fp_header (scoord-ring.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RingHeader
{
    public ulong Magic;
    public uint Version;
    public uint HeaderSize;
    /// <summary>The journal's sequence counter while a run has the ring: the last number handed out.</summary>
    public ulong Seq;
    public uint Epoch;
    public uint Flags;
    public ulong NamesGen;
    public ulong PathOps;
    public uint SlotCount;
    public uint RingSize;
    public uint MaxRecord;
    public uint SlotHwm;
    public Guid JournalId;
    public uint OwnerPid;
    public uint StdioFast;
    public uint SyncPoints;
    public uint PolicyLength;
    public long CreatedNs;
    public uint SmallFile;
    public uint RemovedLimit;
    public ulong Drained;
}

/// <summary>struct fp_slot (scoord-ring.h): one thread's ring and its state.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct RingSlot
{
    public uint Owner;
    public uint Tgid;
    public uint State;
    public uint Flags;
    public ulong Head;
    public ulong Tail;
    public ulong CallSeq;
    public uint Busy;
    public uint ClaimCount;
    public fixed uint Claims[8];
    public uint DevIndex;
    public uint DevMark;
    public uint ProcIndex;
    public uint PostPart;
    public ulong PostSeq;
    public ulong PostDev;
    public ulong PostIno;
    public ulong PostPath;
    public ulong PostOps;
    public uint PostEpoch;
    public uint PostLength;
    public fixed byte Reserved[256 - 144];
}

/// <summary>struct fp_rec.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RingRecordHeader
{
    public uint Length;
    public ushort Type;
    public ushort Flags;
    public ulong Seq;
}

/// <summary>struct fp_intent: the fields of an INTENT record; path, path2 and the items follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RingIntent
{
    public long TimeNs;
    public int Pid;
    public int Tid;
    public ushort Op;
    public ushort IntentFlags;
    public int Fd;
    public ulong OpFlags;
    public uint Mode;
    public int Reserved0;
    public long Offset;
    public long Length;
    public uint Uid;
    public uint Gid;
    public ulong Dev;
    public ulong Ino;
    public byte Kind;
    public byte ItemCount;
    public ushort Reserved1;
    public uint PathLength;
    public uint Path2Length;
    public uint Reserved2;
}

/// <summary>struct fp_item: an undo item's fields; its path, data and encoded xattrs follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RingItem
{
    public byte Kind;
    public byte Role;
    public ushort Flags;
    public uint PathLength;
    public ulong Dev;
    public ulong Ino;
    public long Size;
    public long Offset;
    public long Length;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public uint Nlink;
    public long AtimeNs;
    public long MtimeNs;
    public long CtimeNs;
    public uint DataLength;
    public uint XattrLength;
}

/// <summary>struct fp_done: the kernel's answer; the post-state items follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RingDone
{
    public long TimeNs;
    public long Result;
    public int Errno;
    public uint FirstPart;
    public byte ItemCount;
    public byte DoneFlags;
    public ushort Reserved0;
    public uint SupersedePart;
    public ulong SupersedeSeq;
}
