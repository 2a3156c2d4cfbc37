#!/bin/sh
# make-audio.sh: (re)create the small sample files in audio/ with Debian's sox, lame and
# ffmpeg. The files are committed; run this only to change them.
#   sh contrib/make-audio.sh [DIR]      (default: audio)
set -eu
dir=${1:-audio}
for t in sox lame ffmpeg; do
	command -v "$t" >/dev/null || { echo "make-audio: $t is missing (apt-get install sox lame ffmpeg)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dir/subfolder"

# A 440 Hz tone with a fade, 16-bit mono 22.05 kHz WAV (about 130 KB).
sox -n -r 22050 -b 16 -c 1 "$dir/tone-440.wav" synth 3 sine 440 fade 0.1 3 0.1 vol 0.5

# A chord for MP3 (lame, 64 kbit/s).
sox -n -r 44100 -b 16 -c 2 "$tmp/chord.wav" synth 6 sine 261.63 sine 329.63 sine 392 \
	fade 0.2 6 0.5 vol 0.4
lame --quiet -b 64 --tt "Chord" --ta "streamd" "$tmp/chord.wav" "$dir/chord.mp3"

# A sweep in FLAC.
sox -n -r 22050 -b 16 -c 1 "$dir/sweep.flac" synth 4 sine 200-2000 vol 0.5

# Ogg Vorbis and Ogg Opus from one pluck sequence.
sox -n -r 48000 -b 16 -c 1 "$tmp/pluck.wav" synth 0.5 pluck C4 : synth 0.5 pluck E4 : \
	synth 0.5 pluck G4 : synth 1 pluck C5
ffmpeg -loglevel error -y -i "$tmp/pluck.wav" -c:a libvorbis -q:a 2 "$dir/pluck.ogg"
ffmpeg -loglevel error -y -i "$tmp/pluck.wav" -c:a libopus -b:a 32k "$dir/pluck.opus"

# A file in a subfolder whose name has a space and non-ASCII letters.
sox -n -r 44100 -b 16 -c 1 "$tmp/song.wav" synth 5 sine 330 sine 495 fade 0.1 5 0.3 vol 0.4
lame --quiet -b 48 --tt "Frühlingslied" "$tmp/song.wav" "$dir/subfolder/Frühlings Lied.mp3"

du -ach "$dir" | tail -1
