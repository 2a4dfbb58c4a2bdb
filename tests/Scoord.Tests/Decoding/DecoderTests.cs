using System.Text;
using Scoord.Interceptors;
using Scoord.Interceptors.Decoding;
using Scoord.Interceptors.Decoding.Handlers;
using Scoord.Interceptors.Syscalls;
using Scoord.Tests.Support;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Tests.Decoding;

/// <summary>
/// The decoder without ptrace: registers as an argument array, tracee memory as a model, the tracee's
/// fds as this process's own. Each test feeds one syscall (its table row picks the handler) and checks
/// the <see cref="DecodedCall"/> it gives.
/// </summary>
public sealed unsafe class DecoderTests : IDisposable
{
    private readonly TempTree _tmp = new("scoord-decode-");
    private readonly TraceeModel _memory = new();
    private readonly DecodeContext _context;

    public DecoderTests()
    {
        _context = new DecodeContext(new DecodePolicy
        {
            JournalPath = Encoding.UTF8.GetBytes(_tmp.CreateDirectory("journal")),
            ProtectedDirs = [],
            JournalAncestors = [],
            Only = [],
            Exclude = [],
        });
    }

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void OpenHandler_NewFile_GivesPathFlagsModeAbsentObjectAndItsParent()
    {
        string path = _tmp.Combine("new.txt");
        ulong[] args = [unchecked((ulong)AT_FDCWD), _memory.Put(path), O_WRONLY | O_CREAT | O_TRUNC, 0x1a4, 0, 0];
        ref readonly SyscallEntry e = ref Entry("openat");
        DecodedCall call = DecodedCall.For(e);
        call.OpFlags = args[2];
        TraceeModel.Tracee tracee = _memory.AsTracee();

        Verdict v = OpenDecoder.Decode(_context, ref tracee, e, args, ref call);

        Assert.Equal(Verdict.Journal, v);
        Assert.Equal(path, Text(call.Path.Display));
        Assert.Equal(path + "\0", Text(call.Path.StatPath));
        Assert.True(call.Path.Follow);
        Assert.Equal(ObjectKind.Absent, call.Kind);
        Assert.Equal(IdOf(_tmp.Path), call.Path.Parent);
        Assert.Equal(1, call.IdentityCount);
        Assert.Equal(IdOf(_tmp.Path), call.Identities[0]);
        Assert.False(call.PathUnreadable);
    }

    [Fact]
    public void Openat_ByTable_DecodesRegistersAndMarksAnInodeAllocation()
    {
        string path = _tmp.Combine("made");
        DecodedCall call = Decode("openat", unchecked((ulong)AT_FDCWD), _memory.Put(path), O_WRONLY | O_CREAT | O_EXCL, 0x180);

        Assert.Equal(Verdict.Journal, call.Verdict);
        Assert.Equal(OpCode.Openat, call.Op);
        Assert.Equal((ulong)(O_WRONLY | O_CREAT | O_EXCL), call.OpFlags);
        Assert.Equal(0x180u, call.Mode);
        Assert.False(call.Path.Follow); // O_CREAT|O_EXCL never follows a final symlink
        Assert.True(call.AllocatesInode);
        Assert.False(call.FreesInode);
        Assert.Equal(-1, call.DupFd);
    }

    [Fact]
    public void Open_OfASymlink_IsJournaledAsItsTarget()
    {
        string target = _tmp.WriteFile("target", "x");
        string link = _tmp.Combine("link");
        File.CreateSymbolicLink(link, target);

        DecodedCall call = Decode("open", _memory.Put(link), O_WRONLY, 0);

        Assert.Equal(Verdict.Journal, call.Verdict);
        Assert.Equal(target, Text(call.Path.Display));
        Assert.Equal(ObjectKind.Regular, call.Kind);
        Assert.Equal(IdOf(target), (call.Dev, call.Ino));
    }

    [Fact]
    public void Rename_OverAFile_GivesBothNamesTheirParentsAndAFreedInode()
    {
        string from = _tmp.WriteFile("a/from", "1");
        string to = _tmp.WriteFile("b/to", "2");

        DecodedCall call = Decode("rename", _memory.Put(from), _memory.Put(to));

        Assert.Equal(Verdict.Journal, call.Verdict);
        Assert.Equal(from, Text(call.Path.Display));
        Assert.Equal(to, Text(call.Path2.Display));
        Assert.Equal(to + "\0", Text(call.Path2.StatPath));
        Assert.Equal(IdOf(from), (call.Dev, call.Ino)); // the object is the old name's
        Assert.Equal(IdOf(_tmp.Combine("a")), call.Path.Parent);
        Assert.Equal(IdOf(_tmp.Combine("b")), call.Path2.Parent);
        Assert.True(call.FreesInode);
        Assert.Equal(4, call.IdentityCount); // from, a, to, b
    }

    [Fact]
    public void APathIntoTheJournal_IsRefusedWithEacces()
    {
        string victim = _tmp.Combine("journal", "CURRENT");

        DecodedCall call = Decode("unlink", _memory.Put(victim));

        Assert.Equal(Verdict.Refuse, call.Verdict);
        Assert.Equal(Errno.EACCES, call.RefuseErrno);
        Assert.Equal(victim, Text(call.Path.Display));
    }

    [Fact]
    public void AnUnreadablePathPointer_IsJournaledAsUnreadable_ForTheKernelToFail()
    {
        DecodedCall call = Decode("mkdir", TraceeModel.Unmapped, 0x1ed);

        Assert.Equal(Verdict.Journal, call.Verdict);
        Assert.True(call.PathUnreadable);
        Assert.True(call.Path.Display.IsEmpty);
        Assert.True(call.Path.StatPath.IsEmpty);
        Assert.Equal(0x1edu, call.Mode);
    }

    [Fact]
    public void Pwritev_ThroughAnFd_SumsTheIovecsAndKeepsTheFdsStatusFlags()
    {
        string path = _tmp.WriteFile("data", "0123456789");
        int fd = Open(path, O_WRONLY | O_APPEND);
        try
        {
            DecodedCall call = Decode("pwritev", (ulong)fd, _memory.PutIovecs(5, 7), 2, 3);
            try
            {
                Assert.Equal(Verdict.Journal, call.Verdict);
                Assert.Equal(fd, call.Fd);
                Assert.Equal(12, call.Length);
                Assert.Equal(3, call.Offset);
                Assert.NotEqual(0UL, call.OpFlags & O_APPEND);
                Assert.Equal(ObjectKind.Regular, call.Kind);
                Assert.Equal(path, Text(call.Path.Display));
                Assert.True(call.DupFd >= 0);
                Assert.Equal(10, call.DupStat.st_size);
            }
            finally
            {
                close(call.DupFd);
            }
        }
        finally
        {
            close(fd);
        }
    }

    [Fact]
    public void AWriteToAPipe_Passes()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, O_CLOEXEC));
        try
        {
            DecodedCall call = Decode("write", (ulong)fds[1], 0x1000, 1);
            Assert.Equal(Verdict.Pass, call.Verdict);
            Assert.Equal(-1, call.DupFd); // closed by the decoder: only journaled calls hand one over
        }
        finally
        {
            close(fds[0]);
            close(fds[1]);
        }
    }

    private DecodedCall Decode(string syscall, params ulong[] registers)
    {
        ulong[] args = new ulong[6];
        registers.CopyTo(args, 0);
        TraceeModel.Tracee tracee = _memory.AsTracee();
        return SyscallDecoder.Decode(_context, ref tracee, Entry(syscall), args);
    }

    private static ref readonly SyscallEntry Entry(string syscall) => ref SyscallTable.Get(SyscallTable.NumberOf(syscall));

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static (ulong, ulong) IdOf(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        Interop.Stat st;
        fixed (byte* pp = p)
        {
            Assert.Equal(0, fstatat(AT_FDCWD, pp, &st, AT_SYMLINK_NOFOLLOW));
        }

        return (st.st_dev, st.st_ino);
    }

    private static int Open(string path, int flags)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            int fd = open(pp, flags | O_CLOEXEC, 0);
            Assert.True(fd >= 0);
            return fd;
        }
    }
}
