namespace Scoord.Journal.Memory;

/// <summary>struct kernel_sigaction of one signal (handler, flags, restorer, mask).</summary>
public sealed class SignalAction
{
    public int Signal;
    public ulong Handler;
    public ulong Flags;
    public ulong Restorer;
    public ulong Mask;
}
