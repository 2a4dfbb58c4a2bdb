using System.Globalization;
using System.Text;

namespace Scoord.Journal;

/// <summary>
/// Rules for checkpoint names (docs/cli.md, `scoord checkpoint`). A CKPT argument that is all digits is
/// an id, so a name may not be all digits; <c>ckpt-N</c> is the default name of unnamed checkpoint N and
/// is reserved for it; names are at most 255 UTF-8 bytes without control characters or surrounding
/// white space.
/// </summary>
public static class CheckpointNames
{
    public const int MaxNameBytes = 255;

    private const string DefaultPrefix = "ckpt-";

    /// <summary>The name given to checkpoint <paramref name="id"/> when none is asked for.</summary>
    public static string Default(int id) => DefaultPrefix + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>True if <paramref name="text"/> names a checkpoint by id (all ASCII digits).</summary>
    public static bool IsId(string text, out int id)
    {
        id = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        // All digits but too large for an id: still an id (one that cannot exist).
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id))
        {
            id = -1;
        }

        return true;
    }

    /// <summary>Why <paramref name="name"/> cannot be a checkpoint name, or null if it can.</summary>
    public static string? Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            return "a checkpoint name cannot be empty";
        }

        if (IsId(name, out _))
        {
            return $"checkpoint name '{name}' is all digits (a number names a checkpoint by id)";
        }

        if (name.StartsWith(DefaultPrefix, StringComparison.Ordinal) && IsId(name[DefaultPrefix.Length..], out _))
        {
            return $"checkpoint name '{name}' is reserved (ckpt-N is the name of unnamed checkpoint N)";
        }

        if (name.Trim().Length != name.Length)
        {
            return $"checkpoint name '{name}' starts or ends with white space";
        }

        foreach (char c in name)
        {
            if (char.IsControl(c))
            {
                return "a checkpoint name cannot contain control characters";
            }
        }

        // A lone surrogate cannot be written as UTF-8; only text that round-trips is a name.
        if (!string.Equals(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(name)), name, StringComparison.Ordinal))
        {
            return "a checkpoint name must be valid text (UTF-8)";
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return $"a checkpoint name is at most {MaxNameBytes} bytes";
        }

        return null;
    }
}
