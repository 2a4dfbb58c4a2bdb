namespace Scoord.Coordinator;

/// <summary>
/// A shell glob over absolute paths (docs/cli.md, "Path globs"): <c>*</c> matches within one path
/// component, <c>**</c> across components (<c>**/</c> also matches no component at all), <c>?</c> one
/// character other than <c>/</c>, <c>[abc]</c>, <c>[a-z]</c>, <c>[!x]</c> / <c>[^x]</c> one character of a
/// set (never <c>/</c>), and <c>\</c> quotes the next character. A pattern that does not start with
/// <c>/</c> may match at any depth, as if it began with <c>**/</c> (as in .gitignore).
/// </summary>
/// <remarks>
/// Matching is a backtracking walk with a memo of (pattern position, text position) pairs that
/// already failed, so it is O(pattern x text) whatever the stars. An instance reuses its memo:
/// it is not thread-safe.
/// </remarks>
public sealed class PathGlob
{
    private readonly Token[] _tokens;
    private readonly bool _hasStars;
    private bool[] _failed = [];
    private int _width;

    private PathGlob(string pattern, Token[] tokens)
    {
        Pattern = pattern;
        _tokens = tokens;
        foreach (Token t in tokens)
        {
            if (t.Kind is TokenKind.Star or TokenKind.DoubleStar or TokenKind.DoubleStarSlash)
            {
                _hasStars = true;
            }
        }
    }

    public string Pattern { get; }

    /// <summary>Compiles a glob. Throws <see cref="ArgumentException"/> for an empty pattern.</summary>
    public static PathGlob Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (pattern.Length == 0)
        {
            throw new ArgumentException("empty pattern", nameof(pattern));
        }

        var tokens = new List<Token>();
        int i = 0;
        if (pattern[0] != '/' && !pattern.StartsWith("**", StringComparison.Ordinal))
        {
            tokens.Add(new Token(TokenKind.DoubleStarSlash));
        }

        while (i < pattern.Length)
        {
            char c = pattern[i];
            switch (c)
            {
                case '*':
                    if (i + 1 < pattern.Length && pattern[i + 1] == '*')
                    {
                        int j = i;
                        while (j < pattern.Length && pattern[j] == '*')
                        {
                            j++;
                        }

                        bool atSegmentStart = i == 0 || pattern[i - 1] == '/';
                        if (atSegmentStart && j < pattern.Length && pattern[j] == '/')
                        {
                            tokens.Add(new Token(TokenKind.DoubleStarSlash));
                            i = j + 1;
                        }
                        else
                        {
                            tokens.Add(new Token(TokenKind.DoubleStar));
                            i = j;
                        }
                    }
                    else
                    {
                        tokens.Add(new Token(TokenKind.Star));
                        i++;
                    }

                    break;
                case '?':
                    tokens.Add(new Token(TokenKind.AnyChar));
                    i++;
                    break;
                case '[':
                    if (TryParseClass(pattern, i, out Token cls, out int next))
                    {
                        tokens.Add(cls);
                        i = next;
                    }
                    else
                    {
                        tokens.Add(Token.Literal('['));
                        i++;
                    }

                    break;
                case '\\' when i + 1 < pattern.Length:
                    tokens.Add(Token.Literal(pattern[i + 1]));
                    i += 2;
                    break;
                default:
                    tokens.Add(Token.Literal(c));
                    i++;
                    break;
            }
        }

        return new PathGlob(pattern, [.. tokens]);
    }

    public bool IsMatch(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (_hasStars)
        {
            _width = path.Length + 1;
            int cells = (_tokens.Length + 1) * _width;
            if (_failed.Length < cells)
            {
                _failed = new bool[Math.Max(cells, _failed.Length * 2)];
            }
            else
            {
                Array.Clear(_failed, 0, cells);
            }
        }

        return Match(0, path, 0);
    }

    private bool Match(int pi, string text, int ti)
    {
        while (pi < _tokens.Length)
        {
            Token t = _tokens[pi];
            switch (t.Kind)
            {
                case TokenKind.Star:
                case TokenKind.DoubleStar:
                case TokenKind.DoubleStarSlash:
                    return MatchStar(pi, text, ti);
                default:
                    if (ti >= text.Length || !t.MatchesChar(text[ti]))
                    {
                        return false;
                    }

                    pi++;
                    ti++;
                    break;
            }
        }

        return ti == text.Length;
    }

    private bool MatchStar(int pi, string text, int ti)
    {
        int cell = (pi * _width) + ti;
        if (_failed[cell])
        {
            return false;
        }

        Token t = _tokens[pi];
        bool matched = false;
        switch (t.Kind)
        {
            case TokenKind.Star:
                for (int k = ti; ; k++)
                {
                    if (Match(pi + 1, text, k))
                    {
                        matched = true;
                        break;
                    }

                    if (k >= text.Length || text[k] == '/')
                    {
                        break;
                    }
                }

                break;
            case TokenKind.DoubleStar:
                for (int k = ti; k <= text.Length; k++)
                {
                    if (Match(pi + 1, text, k))
                    {
                        matched = true;
                        break;
                    }
                }

                break;
            default:
                // "**/": nothing, or any run of whole components each ending in '/'.
                if (Match(pi + 1, text, ti))
                {
                    matched = true;
                    break;
                }

                for (int k = ti; k < text.Length; k++)
                {
                    if (text[k] == '/' && Match(pi + 1, text, k + 1))
                    {
                        matched = true;
                        break;
                    }
                }

                break;
        }

        if (!matched)
        {
            _failed[cell] = true;
        }

        return matched;
    }

    private static bool TryParseClass(string pattern, int start, out Token token, out int next)
    {
        int i = start + 1;
        bool negated = false;
        if (i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^'))
        {
            negated = true;
            i++;
        }

        var ranges = new List<(char Low, char High)>();
        bool first = true;
        while (i < pattern.Length && (first || pattern[i] != ']'))
        {
            first = false;
            char low = pattern[i];
            if (low == '\\' && i + 1 < pattern.Length)
            {
                i++;
                low = pattern[i];
            }

            i++;
            char high = low;
            if (i + 1 < pattern.Length && pattern[i] == '-' && pattern[i + 1] != ']')
            {
                high = pattern[i + 1];
                if (high == '\\' && i + 2 < pattern.Length)
                {
                    i++;
                    high = pattern[i + 1];
                }

                i += 2;
            }

            ranges.Add((low, high));
        }

        if (i >= pattern.Length)
        {
            token = default;
            next = start;
            return false;
        }

        token = new Token(TokenKind.Class, '\0', [.. ranges], negated);
        next = i + 1;
        return true;
    }

    private enum TokenKind : byte
    {
        Literal,
        AnyChar,
        Class,
        Star,
        DoubleStar,
        DoubleStarSlash,
    }

    private readonly record struct Token(TokenKind Kind, char Char = '\0', (char Low, char High)[]? Ranges = null, bool Negated = false)
    {
        public static Token Literal(char c) => new(TokenKind.Literal, c);

        public bool MatchesChar(char c)
        {
            switch (Kind)
            {
                case TokenKind.Literal:
                    return c == Char;
                case TokenKind.AnyChar:
                    return c != '/';
                default:
                    if (c == '/')
                    {
                        return false;
                    }

                    bool inSet = false;
                    foreach ((char low, char high) in Ranges!)
                    {
                        if (c >= low && c <= high)
                        {
                            inSet = true;
                            break;
                        }
                    }

                    return inSet != Negated;
            }
        }
    }
}
