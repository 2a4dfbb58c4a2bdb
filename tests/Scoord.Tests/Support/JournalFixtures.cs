using System.Text;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Model;

namespace Scoord.Tests.Support;

/// <summary>Journals written directly through <see cref="JournalStore"/>, so CLI tests need no tracer.</summary>
public static class JournalFixtures
{
    public const int ParentPid = 4100;
    public const int ChildPid = 4101;

    /// <summary>
    /// A small journal: exec of sh, a fork, an openat + write, a rename, a symlink, a failed unlink,
    /// a refused io_uring_setup, a pending write, a non-UTF-8 name, and two exits (one killed).
    /// </summary>
    public static void WriteSample(string dir, string root = "/work/t")
    {
        using JournalStore store = JournalStore.OpenForWriting(dir);
        JournalWriter w = store.Writer;
        long t = 1_764_000_000_000_000_000;

        w.AppendProcess(new ProcessEvent { TimeNs = t++, Kind = OpCode.Exec, Pid = ParentPid }, Bytes("/bin/sh"), Argv("sh", "-c", "echo hi > f"));
        w.AppendProcess(new ProcessEvent { TimeNs = t++, Kind = OpCode.Fork, Pid = ChildPid, Ppid = ParentPid }, default, default);

        ulong open = w.AppendIntent(Intent(t++, ChildPid, OpCode.Openat, fd: -100, flags: 0x241, mode: 0x1A4), Bytes(root + "/f"), default);
        w.AppendCompletion(open, new OpCompletion { TimeNs = t++, Result = 3 });
        ulong write = w.AppendIntent(Intent(t++, ChildPid, OpCode.Write, fd: 3, offset: -1, length: 3), Bytes(root + "/f"), default);
        w.AppendCompletion(write, new OpCompletion { TimeNs = t++, Result = 3 });
        ulong rename = w.AppendIntent(Intent(t++, ParentPid, OpCode.Renameat2, fd: -100), Bytes(root + "/f"), Bytes(root + "/g"));
        w.AppendCompletion(rename, new OpCompletion { TimeNs = t++, Result = 0 });
        ulong symlink = w.AppendIntent(Intent(t++, ParentPid, OpCode.Symlinkat, fd: -100), Bytes(root + "/link"), Bytes("g"));
        w.AppendCompletion(symlink, new OpCompletion { TimeNs = t++, Result = 0 });
        ulong unlink = w.AppendIntent(Intent(t++, ParentPid, OpCode.Unlinkat, fd: -100), Bytes(root + "/missing"), default);
        w.AppendCompletion(unlink, new OpCompletion { TimeNs = t++, Result = -1, Errno = 2 });
        OpIntent refused = Intent(t++, ParentPid, OpCode.IoUringSetup);
        refused.Flags = IntentFlags.Refused;
        refused.InjectedErrno = 38;
        w.AppendIntent(refused, default, default);
        byte[] latin1 = [.. Bytes(root + "/caf"), 0xE9, .. Bytes(".txt")];
        ulong odd = w.AppendIntent(Intent(t++, ParentPid, OpCode.Mkdirat, fd: -100, mode: 0x1ED), latin1, default);
        w.AppendCompletion(odd, new OpCompletion { TimeNs = t++, Result = 0 });
        w.AppendIntent(Intent(t++, ParentPid, OpCode.Pwrite64, fd: 4, offset: 4096, length: 10), Bytes(root + "/pending"), default);

        w.AppendProcess(new ProcessEvent { TimeNs = t++, Kind = OpCode.Exit, Pid = ChildPid, ExitCode = -1, Signal = 9 }, default, default);
        w.AppendProcess(new ProcessEvent { TimeNs = t, Kind = OpCode.Exit, Pid = ParentPid, ExitCode = 0 }, default, default);
        w.Commit(sync: true);
    }

    /// <summary>A journal of <paramref name="count"/> completed writes.</summary>
    public static void WriteMany(string dir, int count)
    {
        using JournalStore store = JournalStore.OpenForWriting(dir);
        JournalWriter w = store.Writer;
        byte[] path = Bytes("/work/many/file.txt");
        long t = 1_764_000_000_000_000_000;
        for (int i = 0; i < count; i++)
        {
            ulong seq = w.AppendIntent(Intent(t++, ParentPid, OpCode.Write, fd: 3, offset: -1, length: 1), path, default);
            w.AppendCompletion(seq, new OpCompletion { TimeNs = t++, Result = 1 });
            if (i % 1000 == 999)
            {
                w.Commit(sync: false);
            }
        }

        w.Commit(sync: true);
    }

    /// <summary>How many entries <see cref="WriteSample"/> writes.</summary>
    public const int SampleCount = 12;

    private static OpIntent Intent(long timeNs, int pid, OpCode op, int fd = -1, ulong flags = 0, uint mode = 0, long offset = 0, long length = 0) => new()
    {
        TimeNs = timeNs,
        Pid = pid,
        Tid = pid,
        Op = op,
        Fd = fd,
        OpFlags = flags,
        Mode = mode,
        Offset = offset,
        Length = length,
    };

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Argv(params string[] args)
    {
        var b = new List<byte>();
        foreach (string a in args)
        {
            b.AddRange(Encoding.UTF8.GetBytes(a));
            b.Add(0);
        }

        return [.. b];
    }
}
