"""google-research/xtreme's task -> language tables, copied as data (not imported: the repository is not a
dependency), to check xtui's tasks against them (tests/unit/test_benchmark_languages.py).

Source: https://github.com/google-research/xtreme, file ``evaluate.py``, commit
838c13b69daafb9328785d16caae2711e4012123 (2022-11-03, the newest in its history): ``XTREME_TASK2LANGS`` and
``XTREME_R_TASK2LANGS``, each list exactly as written there (comma-separated strings split on ',').
"""

XTREME_TASK2LANGS = {
    'pawsx': 'de,en,es,fr,ja,ko,zh'.split(','),
    'xnli': 'ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh'.split(','),
    'panx': 'ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,'
            'it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu'.split(','),
    'udpos': 'af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,'
             'nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh'.split(','),
    'bucc2018': 'de,fr,ru,zh'.split(','),
    'tatoeba': 'ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,'
               'pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu'.split(','),
    'xquad': 'en,es,de,el,ru,tr,ar,vi,th,zh,hi'.split(','),
    'mlqa': 'en,es,de,ar,hi,vi,zh'.split(','),
    'tydiqa': 'en,ar,bn,fi,id,ko,ru,sw,te'.split(','),
}

XTREME_R_TASK2LANGS = {
    'xnli': 'ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh'.split(','),
    'panx': 'ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,'
            'it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu,qu,pl,uk,az,'
            'lt,pa,gu,ro'.split(','),
    'udpos': 'af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,'
             'nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh,lt,pl,uk,wo,ro'.split(','),
    'tatoeba': 'ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,'
               'pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu,az,lt,pl,uk,'
               'ro'.split(','),
    'xcopa': 'et,ht,id,it,qu,sw,ta,th,tr,vi,zh'.split(','),
    'lareqa': [],
    'mewslix': 'ar,de,en,es,fa,ja,pl,ro,ta,tr,uk'.split(','),
    'xquad': 'en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro'.split(','),
    'mlqa': 'en,es,de,ar,hi,vi,zh'.split(','),
    'tydiqa': 'en,ar,bn,fi,id,ko,ru,sw,te'.split(','),
}

XTREME_R_LAREQA = 'ar,de,el,en,es,hi,ru,th,tr,vi,zh'.split(',')
"""LAReQA: ``evaluate.py`` lists no languages (its ``lareqa`` entry is empty); ``third_party/evaluate_retrieval.py``
(same commit) pools every ``<lang>.json`` of the ``xquad-r`` folder, i.e. XQuAD-R's 11 languages, XQuAD's first
11 (google-research-datasets/lareqa, ``xquad-r/``)."""

TASK_NAMES = {'bucc2018': ('bucc',), 'mewslix': ('mewslix', 'mewsli_x')}
"""evaluate.py's task name -> the names xtui may register it under (the same name unless listed)."""
