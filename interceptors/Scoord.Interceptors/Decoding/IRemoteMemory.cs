namespace Scoord.Interceptors.Decoding;

/// <summary>
/// A source of a tracee's memory: the real one is <see cref="ProcessVmMemory"/>; the fuzz target
/// "tracee-memory" passes arbitrary bytes with unmapped holes. Generic methods over a struct source
/// compile to direct calls (no boxing, no allocation per stop).
/// </summary>
internal interface IRemoteMemory
{
    /// <summary>
    /// Copies up to dest.Length bytes at <paramref name="address"/>; returns how many were copied
    /// (process_vm_readv stops at the first unreadable page) or -1 when none could be.
    /// </summary>
    nint Read(ulong address, Span<byte> dest);
}
