using System.Text;
using Scoord.Journal;

namespace Scoord.Cli.Output;

/// <summary>
/// JSON output of file names (`scoord log --json`): the journal gives path bytes and their reversible
/// text (<see cref="PathText"/>); how that text is written as JSON is the CLI's business.
/// </summary>
internal static class JsonPathText
{
    /// <summary>
    /// A JSON string literal (with quotes) for a file name: UTF-8 text as is, escaped bytes as
    /// <c>\udcXX</c>, quote, backslash and control characters escaped. System.Text.Json would replace a
    /// lone surrogate with U+FFFD and lose the byte, so JSON output of paths goes through here.
    /// </summary>
    public static string Literal(ReadOnlySpan<byte> bytes) => Literal(PathText.ToText(bytes));

    /// <summary>A JSON string literal for text produced by <see cref="PathText.ToText"/> (lone surrogates become \uXXXX).</summary>
    public static string Literal(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 2);
        sb.Append('"');
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c == '\u007F' || IsLoneSurrogate(text, i))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
        return sb.ToString();
    }

    private static bool IsLoneSurrogate(string s, int i)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c))
        {
            return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        }

        if (char.IsLowSurrogate(c))
        {
            return i == 0 || !char.IsHighSurrogate(s[i - 1]);
        }

        return false;
    }
}
