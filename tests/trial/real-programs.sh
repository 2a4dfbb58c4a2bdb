# The second run of tests/trial/trial.sh: what real programs do to a tree (needs npm and its registry).
mkdir npmp && cd npmp && npm init -y >/dev/null && npm install --silent --no-audit --no-fund ms@2.1.3 is-number@7.0.0 >/dev/null 2>&1; cd ..
git clone -q repo clone && (cd clone && git checkout -qb br && echo c > c && git add c && git commit -qm three && git rebase -q master 2>/dev/null; true)
python3 -c "
import os,shutil
os.makedirs('py/a/b',exist_ok=True)
for i in range(200):
    open('py/a/b/%d'%i,'w').write(str(i)*i)
for i in range(0,200,3): os.rename('py/a/b/%d'%i,'py/a/%d'%i)
shutil.rmtree('py/a/b')
fd=os.open('py/keep',os.O_RDWR|os.O_CREAT); os.write(fd,b'x'*5000); os.unlink('py/keep'); os.pwrite(fd,b'y',10); os.close(fd)
"
make -s -C proj clean && perl -pi -e s/1/one/ repo/a && vim -es -c "%s/2/two/g" -c wq repo/a && zip -qr r.zip repo && rm -rf repo/.git/objects/pack
for i in $(seq 30); do cp -r proj proj$i; mv proj$i/main.c proj$i/m.c; ln proj$i/m.c proj$i/hl; ln -s m.c proj$i/sl; echo $i >> proj$i/m.c; done
rm -rf proj1*
(cd repo && git gc -q --prune=now 2>/dev/null; true)
