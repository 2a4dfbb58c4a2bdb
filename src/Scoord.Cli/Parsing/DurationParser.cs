using System.Globalization;

namespace Scoord.Cli.Parsing;

/// <summary>
/// Durations as `--checkpoint-every` takes them: a number with a unit, <c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>1h</c>, <c>1d</c>; decimals (<c>1.5s</c>) and sums (<c>1h30m</c>) are allowed; a bare
/// number is refused (seconds or milliseconds would be a guess).
/// </summary>
internal static class DurationParser
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        ReadOnlySpan<char> rest = text.AsSpan().Trim();
        double totalMs = 0;
        while (!rest.IsEmpty)
        {
            int n = 0;
            while (n < rest.Length && (char.IsAsciiDigit(rest[n]) || rest[n] == '.'))
            {
                n++;
            }

            if (n == 0 || !double.TryParse(rest[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            {
                return false;
            }

            rest = rest[n..];
            int u = 0;
            while (u < rest.Length && char.IsAsciiLetter(rest[u]))
            {
                u++;
            }

            double unitMs = rest[..u] switch
            {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => double.NaN,
            };
            if (double.IsNaN(unitMs))
            {
                return false;
            }

            totalMs += value * unitMs;
            rest = rest[u..];
        }

        if (!(totalMs > 0) || totalMs > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    public static TimeSpan Parse(string optionName, string text) =>
        TryParse(text, out TimeSpan d)
            ? d
            : throw new UsageException($"{optionName}: '{text}' is not a duration (use e.g. 500ms, 30s, 5m, 1h)");
}
