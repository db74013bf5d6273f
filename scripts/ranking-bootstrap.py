#!/usr/bin/env python3
"""Paired bootstrap of the supernet ranking measure (issue 9 part 4) between experiment runs on the same ranking
architectures: Kendall tau of supernet-inherited vs stand-alone top-1 for BASE and each OTHER, and a 90 % interval of
their difference over 5,000 resamples of the architectures (docs/generator.md section 5).

    python3 scripts/ranking-bootstrap.py BASE/results.json OTHER/results.json [...]
"""
import json,random,sys
def pts(p):
    return {json.dumps(x['architecture'],sort_keys=True):(x['supernetTop1'],x['standaloneTop1']) for x in json.load(open(p))['ranking']['points']}
def tau(xs,ys):
    n=len(xs);c=d=0
    for i in range(n):
        for j in range(i+1,n):
            s=(xs[i]-xs[j])*(ys[i]-ys[j])
            if s>0:c+=1
            elif s<0:d+=1
    return (c-d)/(n*(n-1)/2)
base=pts(sys.argv[1])
for other in sys.argv[2:]:
    o=pts(other); keys=sorted(base)
    assert set(keys)==set(o)
    ta=tau([base[k][0] for k in keys],[base[k][1] for k in keys]); tb=tau([o[k][0] for k in keys],[o[k][1] for k in keys])
    random.seed(0); diffs=[]
    for _ in range(5000):
        s=[random.choice(keys) for _ in keys]
        diffs.append(tau([o[k][0] for k in s],[o[k][1] for k in s])-tau([base[k][0] for k in s],[base[k][1] for k in s]))
    diffs.sort()
    print(other, f"tau base {ta:.3f} other {tb:.3f} diff {tb-ta:+.3f} 90% CI [{diffs[250]:+.3f}, {diffs[4750]:+.3f}] P(diff<=0)={sum(d<=0 for d in diffs)/len(diffs):.3f}")
