using System.Text.Encodings.Web;
using System.Text.Json;

namespace Scoord.Cli.Output;

/// <summary>How every `--json` output of scoord is written: UTF-8 text as it is (no \u escapes for non-ASCII or HTML characters).</summary>
internal static class JsonOutput
{
    public static JsonWriterOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
