using System.Collections.Frozen;
using System.Globalization;

namespace Scoord.Interceptors;

/// <summary>
/// The names of <see cref="Errno"/>: canonical name for a number, number for a name. The names are the
/// enum's member names (one list, checked against the system headers by the ABI test). Aliases
/// (EWOULDBLOCK, EDEADLOCK, ENOTSUP) parse to their canonical number; <see cref="Name(int)"/> always
/// gives the canonical name.
/// </summary>
public static class ErrnoNames
{
    /// <summary>The highest errno this table knows (EHWPOISON).</summary>
    public const int Max = (int)Errno.EHWPOISON;

    // Index = errno. Null where Linux defines no name.
    private static readonly string?[] s_names = BuildNames();

    private static readonly FrozenDictionary<string, int> s_numbers = BuildNumbers();

    /// <summary>The canonical name of <paramref name="errno"/> ("ENOENT"), or null if Linux has none.</summary>
    public static string? Name(int errno) =>
        (uint)errno < (uint)s_names.Length ? s_names[errno] : null;

    /// <inheritdoc cref="Name(int)"/>
    public static string? Name(Errno errno) => Name((int)errno);

    /// <summary>The name, or the number as text for an errno without a name ("41").</summary>
    public static string NameOrNumber(int errno) =>
        Name(errno) ?? errno.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a name (case-insensitive, aliases accepted) to its number.</summary>
    public static bool TryParse(string name, out int errno) =>
        s_numbers.TryGetValue(name, out errno);

    private static string?[] BuildNames()
    {
        var names = new string?[Max + 1];
        foreach (Errno e in Enum.GetValues<Errno>())
        {
            if (e != Errno.None)
            {
                names[(int)e] = e.ToString();
            }
        }

        return names;
    }

    private static FrozenDictionary<string, int> BuildNumbers()
    {
        var map = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < s_names.Length; i++)
        {
            if (s_names[i] is { } n)
            {
                map[n] = i;
            }
        }

        map["EWOULDBLOCK"] = (int)Errno.EAGAIN;
        map["EDEADLOCK"] = (int)Errno.EDEADLK;
        map["ENOTSUP"] = (int)Errno.EOPNOTSUPP;
        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
