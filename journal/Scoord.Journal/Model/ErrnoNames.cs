using System.Collections.Frozen;
using System.Globalization;

namespace Scoord.Journal;

/// <summary>
/// Linux x86_64 errno numbers and their names (asm-generic/errno-base.h and errno.h, 1..EHWPOISON).
/// Numbers 41 and 58 have no name on Linux. Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) parse to
/// their canonical number; <see cref="Name"/> always gives the canonical name.
/// </summary>
public static class ErrnoNames
{
    /// <summary>The highest errno this table knows (EHWPOISON).</summary>
    public const int Max = 133;

    // Index = errno. Null where Linux defines no name.
    private static readonly string?[] s_names =
    [
        null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
        "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV",
        "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",
        "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
        "ELOOP", null, "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH",
        "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL", "ENOANO", "EBADRQC", "EBADSLT", null, "EBFONT",
        "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT",
        "ECOMM", "EPROTO", "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC",
        "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ",
        "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL",
        "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS",
        "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL",
        "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED",
        "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON",
    ];

    private static readonly FrozenDictionary<string, int> s_numbers = BuildNumbers();

    /// <summary>The canonical name of <paramref name="errno"/> ("ENOENT"), or null if Linux has none.</summary>
    public static string? Name(int errno) =>
        (uint)errno < (uint)s_names.Length ? s_names[errno] : null;

    /// <summary>The name, or the number as text for an errno without a name ("41").</summary>
    public static string NameOrNumber(int errno) =>
        Name(errno) ?? errno.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a name (case-insensitive, aliases accepted) to its number.</summary>
    public static bool TryParse(string name, out int errno) =>
        s_numbers.TryGetValue(name, out errno);

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

        map["EWOULDBLOCK"] = 11;
        map["EDEADLOCK"] = 35;
        map["ENOTSUP"] = 95;
        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
