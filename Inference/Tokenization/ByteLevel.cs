namespace CustomerGrains.Inference.Tokenization;

/// <summary>
/// GPT-2's byte-to-character map: printable bytes (<c>!</c>..<c>~</c>, 0xA1..0xAC, 0xAE..0xFF) stand for themselves,
/// every other byte b becomes the character 256 + n in order, so a space is <c>Ġ</c> and a newline <c>Ċ</c>.
/// Every byte sequence maps to a string of vocabulary characters and back.
/// </summary>
internal static class ByteLevel
{
    public static readonly char[] ByteToChar = BuildMap();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(p => p.c, p => p.Item2);

    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    private static char[] BuildMap()
    {
        var map = new char[256];
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }

        return map;
    }
}
