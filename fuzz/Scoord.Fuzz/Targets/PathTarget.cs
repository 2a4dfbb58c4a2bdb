using Scoord.Interceptors.Decoding;

namespace Scoord.Fuzz.Targets;

/// <summary>
/// Fuzz target for the tracer's handling of path bytes read from tracee memory: lexical
/// normalisation of (base, path). Input: base bytes, NUL, path bytes. Invariants: no exception,
/// the result fits, is absolute, and has no empty, "." or ".." component.
/// </summary>
public static class PathTarget
{
    public static void Fuzz(ReadOnlySpan<byte> input)
    {
        int nul = input.IndexOf((byte)0);
        ReadOnlySpan<byte> baseDir = nul < 0 ? "/"u8 : input[..nul];
        ReadOnlySpan<byte> path = nul < 0 ? input : input[(nul + 1)..];
        if (baseDir.Length == 0 || baseDir[0] != (byte)'/')
        {
            baseDir = "/"u8; // the tracer only ever passes absolute bases (readlink of cwd or an fd)
        }

        Span<byte> dest = stackalloc byte[4096];
        int n = PathNormalizer.Join(baseDir, path, dest);
        if (n < 0)
        {
            return; // too long: the tracer records the path as unreadable
        }

        ReadOnlySpan<byte> r = dest[..n];
        if (n == 0 || r[0] != (byte)'/')
        {
            throw new InvalidOperationException("normalised path is not absolute");
        }

        if (n > 1 && (r[^1] == (byte)'/' || r.IndexOf("//"u8) >= 0 || r.IndexOf("/./"u8) >= 0 || r.IndexOf("/../"u8) >= 0
            || r.EndsWith("/."u8) || r.EndsWith("/.."u8)))
        {
            throw new InvalidOperationException("normalised path has an empty, '.' or '..' component");
        }
    }
}
