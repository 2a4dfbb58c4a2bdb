namespace Scoord.Interceptors.Decoding;

/// <summary>Lexical normalisation of absolute paths: collapses "//", "." and "..", drops a trailing "/".</summary>
internal static class PathNormalizer
{
    /// <summary>
    /// Joins <paramref name="baseDir"/> (absolute, or empty when <paramref name="path"/> is absolute) and
    /// <paramref name="path"/> into <paramref name="dest"/>, normalised. Returns the length or -1 if it does not fit.
    /// </summary>
    public static int Join(ReadOnlySpan<byte> baseDir, ReadOnlySpan<byte> path, Span<byte> dest)
    {
        int n = 0;
        if (path.Length == 0 || path[0] != (byte)'/')
        {
            if (!Append(baseDir, dest, ref n))
            {
                return -1;
            }
        }

        if (!Append(path, dest, ref n))
        {
            return -1;
        }

        return n == 0 ? Root(dest) : n;
    }

    private static int Root(Span<byte> dest)
    {
        dest[0] = (byte)'/';
        return 1;
    }

    // Appends the components of src to dest[0..n], resolving "." and ".." lexically.
    private static bool Append(ReadOnlySpan<byte> src, Span<byte> dest, ref int n)
    {
        int i = 0;
        while (i < src.Length)
        {
            while (i < src.Length && src[i] == (byte)'/')
            {
                i++;
            }

            int start = i;
            while (i < src.Length && src[i] != (byte)'/')
            {
                i++;
            }

            ReadOnlySpan<byte> comp = src[start..i];
            if (comp.Length == 0 || (comp.Length == 1 && comp[0] == (byte)'.'))
            {
                continue;
            }

            if (comp.Length == 2 && comp[0] == (byte)'.' && comp[1] == (byte)'.')
            {
                int slash = dest[..n].LastIndexOf((byte)'/');
                n = slash < 0 ? 0 : slash;
                continue;
            }

            if (n + 1 + comp.Length > dest.Length)
            {
                return false;
            }

            dest[n++] = (byte)'/';
            comp.CopyTo(dest[n..]);
            n += comp.Length;
        }

        return true;
    }

    /// <summary>Length of the parent directory part of a normalised absolute path ("/a/b" -> 2, "/a" -> 1).</summary>
    public static int ParentLength(ReadOnlySpan<byte> path)
    {
        int slash = path.LastIndexOf((byte)'/');
        return slash <= 0 ? 1 : slash;
    }

    /// <summary>True if path equals prefix or lies below it.</summary>
    public static bool IsUnder(ReadOnlySpan<byte> path, ReadOnlySpan<byte> prefix)
    {
        if (prefix.Length == 1 && prefix[0] == (byte)'/')
        {
            return true;
        }

        return path.StartsWith(prefix) && (path.Length == prefix.Length || path[prefix.Length] == (byte)'/');
    }
}
