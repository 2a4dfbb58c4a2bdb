using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Ingest;
using Scoord.Interceptors;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal.Model;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// What happens when scoord itself fails (an unexpected exception) while handling one stop of one tracee:
/// the program must not pay for it. Tracees die with their tracer (PTRACE_O_EXITKILL), so an exception that
/// left the trace loop would kill the whole program tree mid-work. Instead the stop's records are dropped
/// from the batch, the syscall is failed with an errno programs handle (EIO; ENOSYS where the syscall is not
/// understood), the fault is logged (one line per fault, the first <see cref="MaxLogged"/>), journaled as
/// a record flagged <see cref="IntentFlags.Fault"/> (`scoord log` shows it, `scoord status` counts it), and
/// tracing goes on. Runs on the tracer thread; allocates only when a fault happens.
/// </summary>
internal sealed partial class FaultIsolation(JournalIngest ingest, InFlightOps inFlight, GroupCommit commit, TraceeResumer resumer, ILogger logger)
{
    /// <summary>Faults logged one line each; later ones are only journaled and counted.</summary>
    public const int MaxLogged = 16;

    /// <summary>Faults since the run began.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// A fault at a seccomp stop (before the syscall runs): drop what the stop buffered, undo its bookkeeping,
    /// and refuse the syscall (nr = -1, rax = -errno), as a journal that cannot be written refuses it.
    /// </summary>
    public void AtEntry(Tracee t, in Interop.PtraceSyscallInfo info, Exception e)
    {
        Errno errno = Understood(info, e) ? Errno.EIO : Errno.ENOSYS;
        Abandon(t, entry: true);
        Record(t, info, e, errno, "entry", null);
        Try(() => resumer.Refuse(t, errno));
    }

    /// <summary>
    /// A fault at a syscall-exit stop: the syscall ran. Its completion (with the kernel's result) is kept if
    /// it can be; the program gets EIO as the result, the answer it gets when scoord cannot journal an op.
    /// </summary>
    public void AtExit(Tracee t, in Interop.PtraceSyscallInfo info, Exception e)
    {
        bool journaled = t.State == TraceeState.InJournaledSyscall;
        ulong seq = t.Pending.Seq;
        OpCode op = journaled ? t.Pending.Op : OpCode.Other;
        Abandon(t, entry: false);
        if (journaled && seq != 0)
        {
            bool failed = info.is_error != 0;
            var c = new OpCompletion
            {
                TimeNs = Clock.NowNs(),
                Result = failed ? -1 : info.rval,
                Errno = failed ? (int)-info.rval : 0,
            };
            Try(() => ingest.Completion(seq, c)); // rollback knows what really happened
        }

        Record(t, info, e, Errno.EIO, "exit", op);
        Try(() =>
        {
            if (journaled)
            {
                FailAtExit(t, Errno.EIO);
            }

            resumer.Resume(t, PTRACE_CONT, 0);
        });
    }

    /// <summary>A fault at any other stop (process events, signals): logged, journaled, and the tracee resumed.</summary>
    public void Elsewhere(Tracee? t, int tid, Exception e)
    {
        Count++;
        if (Count <= MaxLogged)
        {
            Log.FaultElsewhere(logger, tid, e.GetType().Name, e.Message);
            Log.FaultDetail(logger, e);
        }

        var intent = new OpIntent { TimeNs = Clock.NowNs(), Pid = t?.Process.Tgid ?? tid, Tid = tid, Op = OpCode.Other, Flags = IntentFlags.Refused | IntentFlags.Fault, Fd = -1, Offset = -1, Length = -1 };
        Try(() => ingest.Fault(intent, Encoding.UTF8.GetBytes(Describe(e, "stop", null))));
        if (t is not null)
        {
            Try(() => resumer.Resume(t, PTRACE_CONT, 0));
        }
    }

    /// <summary>Undo the stop's bookkeeping: the records it buffered, its op in flight, its deferred resume.</summary>
    private void Abandon(Tracee t, bool entry)
    {
        Try(ingest.AbandonStop);
        Try(() => inFlight.Release(t));
        if (entry && t.State == TraceeState.InJournaledSyscall)
        {
            commit.Undefer(t); // its intent is gone: it must not be resumed into the syscall
        }

        if (t.Parked)
        {
            inFlight.Forget(t);
            t.Parked = false;
        }

        Try(t.Pending.End);
        t.CheckOpenResult = false;
        t.State = TraceeState.Running;
    }

    /// <param name="exitOp">At an exit stop (whose info carries no number nor arguments): the op of the call; null at an entry stop.</param>
    private void Record(Tracee t, in Interop.PtraceSyscallInfo info, Exception e, Errno errno, string stop, OpCode? exitOp)
    {
        Count++;
        long nr = exitOp is null ? (long)info.nr : -1;
        string name = exitOp is { } o ? OpNames.Name(o) : SyscallTable.IsKnown(nr) ? SyscallTable.Get((int)nr).Name : nr.ToString(CultureInfo.InvariantCulture);
        string args = exitOp is null ? Arguments(info) : "result " + info.rval.ToString(CultureInfo.InvariantCulture);
        if (Count <= MaxLogged)
        {
            Log.Fault(logger, t.Tid, name, args, stop, errno, e.GetType().Name, e.Message);
            Log.FaultDetail(logger, e);
            if (Count == MaxLogged)
            {
                Log.FaultsSilenced(logger, MaxLogged);
            }
        }

        var intent = new OpIntent
        {
            TimeNs = Clock.NowNs(),
            Pid = t.Process.Tgid,
            Tid = t.Tid,
            Op = exitOp ?? (SyscallTable.IsKnown(nr) ? SyscallTable.Get((int)nr).Op : OpCode.Other),
            Flags = IntentFlags.Refused | IntentFlags.Fault,
            Fd = -1,
            OpFlags = exitOp is null ? info.nr : 0,
            InjectedErrno = (int)errno,
            Offset = -1,
            Length = -1,
        };
        Try(() => ingest.Fault(intent, Encoding.UTF8.GetBytes(Describe(e, stop, exitOp is null ? $"{name}({args})" : $"{name} ({args})"))));
    }

    /// <summary>ENOSYS where scoord does not understand the syscall (not in its table, or a handler said so), else EIO.</summary>
    private static bool Understood(in Interop.PtraceSyscallInfo info, Exception e) =>
        SyscallTable.IsKnown((long)info.nr) && e is not (NotSupportedException or NotImplementedException);

    private static unsafe string Arguments(in Interop.PtraceSyscallInfo info)
    {
        var b = new StringBuilder();
        for (int i = 0; i < 6; i++)
        {
            if (i > 0)
            {
                b.Append(", ");
            }

            b.Append("0x").Append(info.args[i].ToString("x", CultureInfo.InvariantCulture));
        }

        return b.ToString();
    }

    private static string Describe(Exception e, string stop, string? call)
    {
        // The first frame of the trace (not TargetSite: reflection metadata a native AOT build does not keep).
        string frame = e.StackTrace?.Split('\n', 2)[0].Trim() ?? string.Empty;
        frame = frame.StartsWith("at ", StringComparison.Ordinal) ? frame[3..] : frame;
        int args = frame.IndexOf('(', StringComparison.Ordinal);
        string where = frame.Length == 0 ? string.Empty : " in " + (args > 0 ? frame[..args] : frame);
        string text = $"scoord fault at {stop} stop{(call is null ? string.Empty : " of " + call)}: {e.GetType().Name}: {e.Message}{where}";
        return text.ReplaceLineEndings(" ");
    }

    /// <summary>Sets the syscall's result (rax) at its exit stop.</summary>
    private static unsafe void FailAtExit(Tracee t, Errno errno)
    {
        Interop.UserRegs regs;
        if (ptrace(PTRACE_GETREGS, t.Tid, 0, (nint)(&regs)) == 0)
        {
            regs.rax = unchecked((ulong)-(long)errno);
            ptrace(PTRACE_SETREGS, t.Tid, 0, (nint)(&regs));
        }
    }

    /// <summary>Recovery must not fail in turn: a second exception here is dropped (the first one is what is reported).</summary>
    private static void Try(Action a)
    {
        try
        {
            a();
        }
        catch (Exception)
        {
            // best effort: the tracee is resumed (or refused) whatever happens to the bookkeeping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "scoord fault at the {Stop} stop of pid {Pid}: {Syscall}({Args}) failed with {Errno} instead of crashing the program: {Type}: {Reason}")]
        public static partial void Fault(ILogger logger, int pid, string syscall, string args, string stop, Errno errno, string type, string reason);

        [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "scoord fault at a stop of pid {Pid} (resumed): {Type}: {Reason}")]
        public static partial void FaultElsewhere(ILogger logger, int pid, string type, string reason);

        [LoggerMessage(EventId = 113, Level = LogLevel.Debug, Message = "scoord fault: where")]
        public static partial void FaultDetail(ILogger logger, Exception e);

        [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "{Count} scoord faults: further ones are journaled (scoord log) and counted (scoord status), not logged")]
        public static partial void FaultsSilenced(ILogger logger, int count);
    }
}
