namespace Scoord.Interceptors.Decoding;

/// <summary>What becomes of a decoded syscall.</summary>
internal enum Verdict : byte
{
    /// <summary>Not a journaled object: resume without an exit stop.</summary>
    Pass,
    /// <summary>Journal the intent, resume after the group commit, complete at the exit stop.</summary>
    Journal,
    /// <summary>Refuse with <see cref="DecodedCall.RefuseErrno"/> (journaled as refused).</summary>
    Refuse,
}
