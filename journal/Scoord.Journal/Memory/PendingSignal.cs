namespace Scoord.Journal.Memory;

/// <summary>A pending signal: its number and its siginfo (128 bytes, as PTRACE_PEEKSIGINFO gives it).</summary>
public sealed class PendingSignal
{
    public const int SiginfoSize = 128;

    public int Signal;
    public byte[] Siginfo = new byte[SiginfoSize];
}
