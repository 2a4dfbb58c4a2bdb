using Microsoft.Extensions.Logging;

namespace Scoord.Cli;

/// <summary>
/// `-v` → Information, `-vv` → Debug, `-vvv` → Trace; `-v LEVEL` names a level; default Warning.
/// </summary>
internal static class Verbosity
{
    public static bool IsLevelName(string text) => TryParseLevel(text, out _);

    public static bool TryParseLevel(string text, out LogLevel level)
    {
        switch (text.ToUpperInvariant())
        {
            case "TRACE":
                level = LogLevel.Trace;
                return true;
            case "DEBUG":
                level = LogLevel.Debug;
                return true;
            case "INFO":
            case "INFORMATION":
                level = LogLevel.Information;
                return true;
            case "WARN":
            case "WARNING":
                level = LogLevel.Warning;
                return true;
            case "ERROR":
                level = LogLevel.Error;
                return true;
            case "CRITICAL":
                level = LogLevel.Critical;
                return true;
            case "NONE":
                level = LogLevel.None;
                return true;
            default:
                level = LogLevel.None;
                return false;
        }
    }

    public static LogLevel FromCount(int count) => count switch
    {
        <= 0 => LogLevel.Warning,
        1 => LogLevel.Information,
        2 => LogLevel.Debug,
        _ => LogLevel.Trace,
    };
}
