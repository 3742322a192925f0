-- Cyrillic (Russian and Ukrainian) spelled in Latin letters, one letter for one, soft and hard signs and apostrophes
-- dropped: "роуминг" becomes "rouming", near "roaming" in trigrams. Loanwords and names (roaming, internet, tariff,
-- students, contract) are then close across scripts when no word is shared. Used only to fill the lists an asker
-- picks from when too few entries match by words; it never makes an answer confident.
CREATE OR REPLACE FUNCTION kb_latin(text) RETURNS text
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql
    RETURN translate(lower($1), 'абвгдеёжзийклмнопрстуфхцчшщыэюяіїєґъь''', 'abvgdeezziiklmnoprstufhccssyeuaiieg');
