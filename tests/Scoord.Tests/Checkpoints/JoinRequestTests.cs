using FsCheck;
using FsCheck.Fluent;
using Scoord.Coordinator.Control;

namespace Scoord.Tests.Checkpoints;

/// <summary>The Join payload comes from another process over the control socket: parsed strictly, never throwing.</summary>
public sealed class JoinRequestTests
{
    [Fact]
    public void RoundTrip_KeepsProgramArgvCwdAndEnvironment()
    {
        var request = new JoinRequest("/bin/sh", ["sh", "-c", "echo \"é\" $X"], "/tmp/a b",
            new Dictionary<string, string> { ["X"] = "1", ["EMPTY"] = "", ["PATH"] = "/usr/bin:/bin" });
        JoinRequest? back = JoinRequest.TryParse(request.ToJson(), out string? error);
        Assert.Null(error);
        Assert.NotNull(back);
        Assert.Equal(request.Program, back.Program);
        Assert.Equal(request.Argv, back.Argv);
        Assert.Equal(request.Cwd, back.Cwd);
        Assert.Equal(request.Environment.OrderBy(kv => kv.Key), back.Environment.OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("", "not JSON")]
    [InlineData("[]", "needs program")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[],\"cwd\":\"/\",\"env\":{}}", "argv non-empty")]
    [InlineData("{\"program\":\"sh\",\"argv\":[\"sh\"],\"cwd\":\"/\",\"env\":{}}", "absolute")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[\"sh\"],\"cwd\":\"rel\",\"env\":{}}", "absolute")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[1],\"cwd\":\"/\",\"env\":{}}", "non-string")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[\"sh\"],\"cwd\":\"/\",\"env\":{\"A=B\":\"c\"}}", "bad entry")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[\"s\\u0000h\"],\"cwd\":\"/\",\"env\":{}}", "NUL")]
    [InlineData("{\"program\":\"/bin/sh\",\"argv\":[\"sh\"],\"cwd\":\"/\"}", "needs program")]
    public void BadPayloads_AreAnError_NotAnException(string json, string expected)
    {
        Assert.Null(JoinRequest.TryParse(json, out string? error));
        Assert.NotNull(error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void AnyString_ParsesOrIsRefused_WithoutThrowing()
    {
        Prop.ForAll<string>(s =>
        {
            JoinRequest? r = JoinRequest.TryParse(s ?? string.Empty, out string? error);
            return (r is null) != (error is null);
        }).QuickCheckThrowOnFailure();
    }
}
