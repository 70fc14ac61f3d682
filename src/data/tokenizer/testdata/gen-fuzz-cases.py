# Generates fuzz-cases.json: random nasty strings and their ids from a Python reference of OpenCLIP v2.20.0's
# SimpleTokenizer (the code of open_clip/tokenizer.py) over ftfy 6.3.1 with its tables set back to ftfy 6.1's:
# no windows-1257, the 6.1 badness regex, UTF-8 clues and ALTERED_UTF8_RE. Needs `pip install ftfy==6.3.1 regex`.
# Usage: python gen-fuzz-cases.py SEED COUNT MAXPIECES [OUT]   (fuzz-cases.json: 99 400 30)
import gzip, html, os, random
import re, sys, json
import ftfy, ftfy.chardata as cd, ftfy.badness as bd, ftfy.fixes as fx
from ftfy_611_categories import MOJIBAKE_CATEGORIES
M = dict(MOJIBAKE_CATEGORIES)
M['bad'] = M['bad'].replace('\N{SECTION SIGN}', '')
M['start_punctuation'] = M['start_punctuation'] + '\N{SECTION SIGN}'
BAD = re.compile("""
    [{c1}]
    |
    [{bad}{lower_accented}{upper_accented}{box}{start_punctuation}{end_punctuation}{currency}{numeric}] [{bad}]
    |
    [{bad}] [{lower_accented}{upper_accented}{box}{start_punctuation}{end_punctuation}{currency}{numeric}]
    |
    [{lower_accented}{lower_common}{box}{end_punctuation}{currency}{numeric}] [{upper_accented}]
    |
    [{box}{end_punctuation}{currency}{numeric}] [{lower_accented}]
    |
    [{lower_accented}{box}{end_punctuation}] [{currency}]
    |
    \\s [{upper_accented}] [{currency}]
    |
    [{upper_accented}{box}{end_punctuation}] [{numeric}]
    |
    [{lower_accented}{upper_accented}{currency}{numeric}{box}] [{end_punctuation}] [{start_punctuation}]
    |
    [{currency}{numeric}{box}] [{start_punctuation}]
    |
    [a-z] [{upper_accented}] [{start_punctuation}{currency}]
    |
    [{box}] [{kaomoji}]
    |
    [{lower_accented}{upper_accented}{currency}{numeric}{start_punctuation}{end_punctuation}] [{box}]
    |
    [{box}] [{end_punctuation}]
    |
    [{lower_accented}{upper_accented}] [{end_punctuation}] \\w
    |
    [Œœ][^a-z]
    |
    [ÂÃÎÐ][€Šš¢Ÿž\\xa0\\xad®©°·»{end_punctuation}–—´]
    |
    × [²³]
    |
    à[²µ¹¼½¾]
    |
    √[±∂†≠®™´≤≥¥µø]
    |
    ≈[°¢]
    |
    ‚Ä[ìîïòôúùû†°¢π]
    |
    ‚[âó][àä°ê]
    |
    вЂ
    |
    [ВГРС][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°µ][ВГРС]
    |
    Ã[\\xa0¡]
    |
    [a-z]\\s?Ã[ ]
    |
    β€[™\\xa0Ά\\xad®°]
    |
    [ΒΓΞΟ][{c1}{bad}{start_punctuation}{end_punctuation}{currency}°][ΒΓΞΟ]
""".format(**M), re.VERBOSE)
bd.BADNESS_RE = BAD
cd.CHARMAP_ENCODINGS[:] = [e for e in cd.CHARMAP_ENCODINGS if e != 'sloppy-windows-1257']
ALT = re.compile(b'[\xc2\xc3\xc5\xce\xd0][ ]|[\xe0-\xef][ ][\x80-\xbf]|[\xe0-\xef][\x80-\xbf][ ]|[\xf0][ ][\x80-\xbf][\x80-\xbf]|[\xf0][\x80-\xbf][ ][\x80-\xbf]|[\xf0][\x80-\xbf][\x80-\xbf][ ]')
cd.ALTERED_UTF8_RE = ALT; fx.ALTERED_UTF8_RE = ALT
CL = {
 'utf8_first_of_2': 'ÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßĂĆČĎĐĘĚĞİĹŃŇŐŘŞŢŮŰ' 'ΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
 'utf8_first_of_3': 'àáâãäåæçèéêëìíîïăćčďęěĺŕΰαβγδεζηθικλμνξοабвгдежзийклмноп',
 'utf8_first_of_4': 'ðóđğπσру',
 'utf8_continuation': '\x80-\xbf' 'ĄąĽľŁłŒœŚśŞşŠšŤťŸŹźŻżŽžƒˆˇ˘˛˜˝΄΅' 'ΆΈΉΊΌΎΏЁЂЃЄЅІЇЈЉЊЋЌЎЏёђѓєѕіїјљњћќўџҐґ' '–—―‘’‚“”„†‡•…‰‹›€№™' ' ',
}
DET = re.compile("""
    (
        [{utf8_first_of_2}] [{utf8_continuation}]
        |
        [{utf8_first_of_3}] [{utf8_continuation}]{{2}}
        |
        [{utf8_first_of_4}] [{utf8_continuation}]{{3}}
    )+
""".format(**CL), re.VERBOSE)
cd.UTF8_DETECTOR_RE = DET; fx.UTF8_DETECTOR_RE = DET
import ftfy
import regex as re
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~")+1))+list(range(ord("¡"), ord("¬")+1))+list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]; n = 0
    for b in range(2**8):
        if b not in bs: bs.append(b); cs.append(2**8+n); n += 1
    return dict(zip(bs, [chr(n) for n in cs]))
def get_pairs(word):
    pairs = set(); prev = word[0]
    for c in word[1:]: pairs.add((prev, c)); prev = c
    return pairs
def basic_clean(text):
    text = ftfy.fix_text(text); text = html.unescape(html.unescape(text)); return text.strip()
def whitespace_clean(text):
    text = re.sub(r'\s+', ' ', text); return text.strip()
class T:
    def __init__(self):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(os.path.join(os.path.dirname(__file__), '../../../../assets/bpe_simple_vocab_16e6.txt.gz')).read().decode('utf-8').split('\n')
        merges = [tuple(m.split()) for m in merges[1:49152-256-2+1]]
        vocab = list(bytes_to_unicode().values()); vocab = vocab + [v+'</w>' for v in vocab]
        for m in merges: vocab.append(''.join(m))
        sp = ['<start_of_text>', '<end_of_text>']; vocab.extend(sp)
        self.encoder = dict(zip(vocab, range(len(vocab)))); self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {t: t for t in sp}
        self.pat = re.compile("|".join(sp) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)
    def bpe(self, token):
        if token in self.cache: return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + '</w>',)
        pairs = get_pairs(word)
        if not pairs: return token+'</w>'
        while True:
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float('inf')))
            if bigram not in self.bpe_ranks: break
            first, second = bigram; new_word = []; i = 0
            while i < len(word):
                try:
                    j = word.index(first, i); new_word.extend(word[i:j]); i = j
                except ValueError:
                    new_word.extend(word[i:]); break
                if word[i] == first and i < len(word)-1 and word[i+1] == second: new_word.append(first+second); i += 2
                else: new_word.append(word[i]); i += 1
            word = tuple(new_word)
            if len(word) == 1: break
            pairs = get_pairs(word)
        word = ' '.join(word); self.cache[token] = word; return word
    def encode(self, text):
        out = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = ''.join(self.byte_encoder[b] for b in token.encode('utf-8'))
            out.extend(self.encoder[t] for t in self.bpe(token).split(' '))
        return out
tok = T()
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
pieces = list("abcXYZ019 .,!?'\"-_/()[]{}<>@#$%^*+=~`|\\:;") + ['\t','\n','\r','\r\n','\x0b','\x0c','\x1c','\x1f','\x85','\xa0','\u2000','\u2009','\u3000','\u200b','\u200d','\ufeff','\u2028','\x00','\x07','\x1b[31m','\x7f','\x80','\x81','\x9d','\x92',
  'é','e\u0301','ñ','ß','ẞ','İ','ı','K','ſ','Σ','ΟΔΟΣ','ǅ','ﬁ','Ａ','１','½','²','①','٣','३','〇','Ⅻ','日本','한국어','Привет','עברית','العربية','ไทย','😀','👍🏽','🇯🇵','👨‍👩‍👧','\U0001F3F4\U000E0067\U000E0062\U000E007F','\U00020000','\ud7ff','\ue000','\ufffd','\u02bc','‘','’','“','”','…','—','&amp;','&AMP;','&amp','&lt;','&#39;','&#x27;','&#128512;','&nbsp;','&notit;','&#0;','&#x80;','&unknown;','<start_of_text>','<END_OF_TEXT>','<|endoftext|>',"'S","'LL","'ve",'Ã©','â€™','Ã¼','Â£','Ã ','Ã  la','ðŸ˜€','Ð¿Ñ€Ð¸','â€œ','Ãƒâ€šÃ‚Â£',' ',' ',' ']
texts = []
for i in range(int(sys.argv[2]) if len(sys.argv) > 2 else 5000):
    n = random.randint(0, int(sys.argv[3]) if len(sys.argv) > 3 else 12)
    texts.append(''.join(random.choice(pieces) for _ in range(n)))
out = sys.argv[4] if len(sys.argv) > 4 else 'fuzz-cases.json'
with open(out, 'w') as f:
    f.write('[\n' + ',\n'.join(json.dumps([t, tok.encode(t)], ensure_ascii=True) for t in texts) + '\n]\n')
