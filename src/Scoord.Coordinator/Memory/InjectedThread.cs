using Scoord.Interceptors;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>A thread prepared by <see cref="SyscallInjector.Begin"/>: what it was doing, to put it back.</summary>
internal sealed class InjectedThread
{
    public int Tid;
    public int Tgid;
    /// <summary>The registers it stopped with (before anything was injected).</summary>
    public Interop.UserRegs Saved;
    /// <summary>It stopped at a syscall's entry (seccomp or entry stop): that syscall is executed again afterwards.</summary>
    public bool Restart;
    /// <summary>It stopped in a seccomp stop: <see cref="SyscallInjector.End"/> brings it back into one.</summary>
    public bool AtSeccomp;
    /// <summary>Signals taken off it (it was in a signal-delivery-stop, or one arrived meanwhile): queued again at the end.</summary>
    public readonly List<PendingSignal> Deferred = [];
    /// <summary>Threads or processes an injected clone created.</summary>
    public readonly List<int> Children = [];
    /// <summary>Address of a syscall instruction in its address space.</summary>
    public ulong Gadget;
}
