using System.Buffers;
using System.Text;

namespace Scoord.Journal;

/// <summary>
/// Linux file names are bytes. This turns them into text reversibly (docs/journal-format.md,
/// "Path text"): valid UTF-8 passes through unchanged; every byte of an invalid UTF-8 sequence
/// becomes the lone surrogate U+DC80+byte (Python's "surrogateescape"). Valid UTF-8 never
/// encodes a surrogate, so the escape is unambiguous and <see cref="ToBytes"/> inverts it.
/// In `scoord log --json` an escaped byte appears as the escape <c>\udcXX</c> (see the CLI's JsonPathText).
/// </summary>
public static class PathText
{
    private const char EscapeBase = '\uDC80';

    /// <summary>Bytes → text with surrogate escapes.</summary>
    public static string ToText(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return Encoding.UTF8.GetString(bytes);
        }

        var sb = new StringBuilder(bytes.Length);
        Span<char> pair = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            OperationStatus status = Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed);
            if (status == OperationStatus.Done)
            {
                int n = rune.EncodeToUtf16(pair);
                sb.Append(pair[..n]);
            }
            else
            {
                // Each byte of the maximal invalid subsequence is escaped on its own (all are >= 0x80:
                // ASCII bytes always decode).
                for (int i = 0; i < consumed; i++)
                {
                    sb.Append((char)(EscapeBase + bytes[i] - 0x80));
                }
            }

            bytes = bytes[consumed..];
        }

        return sb.ToString();
    }

    /// <summary>Text → bytes: the inverse of <see cref="ToText"/>. Throws on a lone surrogate outside U+DC80..U+DCFF.</summary>
    public static byte[] ToBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryToBytes(text, out byte[]? bytes))
        {
            throw new ArgumentException("text has a lone surrogate that is not a path-byte escape (U+DC80..U+DCFF)", nameof(text));
        }

        return bytes;
    }

    /// <summary>Text → bytes; false if the text has a lone surrogate that is not an escape.</summary>
    public static bool TryToBytes(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[]? bytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffer = new ArrayBufferWriter<byte>(text.Length + 8);
        Span<byte> utf8 = stackalloc byte[4];
        ReadOnlySpan<char> rest = text;
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out Rune rune, out int consumed) == OperationStatus.Done)
            {
                int n = rune.EncodeToUtf8(utf8);
                buffer.Write(utf8[..n]);
            }
            else
            {
                char c = rest[0];
                if (c < EscapeBase || c > '\uDCFF')
                {
                    bytes = null;
                    return false;
                }

                buffer.Write([(byte)(c - EscapeBase + 0x80)]);
                consumed = 1;
            }

            rest = rest[consumed..];
        }

        bytes = buffer.WrittenSpan.ToArray();
        return true;
    }
}
