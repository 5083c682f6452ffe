#!/bin/sh
# Loads demo records into a running node: the region's organisations as a
# 2019 report to the coordination association's board describes them, with
# invented people, meetings and decisions.  Usage: demo.sh SAMLOG_BINARY
# NODE_DIR
set -eu
SL=$1
DIR=$2
s() { "$SL" -d "$DIR" "$@"; }

# Organisations: the association, its partners, three municipalities and
# the social enterprises (ASF) the report describes.
forb=$(s org add --name "Samordningsförbundet" --kind authority)
m29=$(s org add --name "M29 Socialt Företagscenter" --kind partner --sector "stöd till sociala företag")
coomp=$(s org add --name "Coompanion Roslagen & Norrort" --kind partner --sector "kooperativ utveckling")
tanke=$(s org add --name "Tanke & Handling" --kind partner)
af=$(s org add --name "Arbetsförmedlingen" --kind authority)
sigtuna=$(s org add --name "Sigtuna kommun" --kind municipality --municipality Sigtuna)
vasby=$(s org add --name "Upplands Väsby kommun" --kind municipality --municipality "Upplands Väsby")
sollentuna=$(s org add --name "Sollentuna kommun" --kind municipality --municipality Sollentuna)
vasbyhem=$(s org add --name "Väsbyhem" --kind company --municipality "Upplands Väsby" --sector fastigheter)
retur=$(s org add --name "Returbutiken Märsta" --kind asf --municipality Sigtuna --sector "second hand" --iop)
kafe=$(s org add --name "Kafé Trädgården" --kind asf --municipality Sigtuna --sector café --iop)
textil=$(s org add --name "Textilverkstaden Sigtuna" --kind asf --municipality Sigtuna --sector textil)
fast=$(s org add --name "Fastighetsservice Sigtuna" --kind asf --municipality Sigtuna --sector fastighetsskötsel)
senior=$(s org add --name "Seniorservice Norr" --kind asf --municipality Sigtuna --sector "servicetjänster för pensionärer")
nystart=$(s org add --name "Nystart Sigtuna" --kind asf --municipality Sigtuna --sector "second hand" --sector café)
varme=$(s org add --name "Värmekällan" --kind asf --municipality "Upplands Väsby" --sector arbetsträning)
natur=$(s org add --name "NaturhälsaCenter" --kind asf --municipality "Upplands Väsby" --sector friskvård)
haggvik=$(s org add --name "Café Häggvik" --kind asf --municipality Sollentuna --sector café --sector catering)

# Contacts (invented names).
lina=$(s contact add --name "Lina Sjöberg" --org "$m29" --role verksamhetsledare --email lina.sjoberg@example.org)
per=$(s contact add --name "Per Almqvist" --org "$forb" --role förbundschef --email per.almqvist@example.org)
karin=$(s contact add --name "Karin Dahl" --org "$sigtuna" --role tjänsteman --municipality Sigtuna)
ahmed=$(s contact add --name "Ahmed Yusuf" --org "$sigtuna" --role politiker --municipality Sigtuna)
maria=$(s contact add --name "Maria Lind" --org "$vasby" --role politiker --municipality "Upplands Väsby")
jonas=$(s contact add --name "Jonas Ek" --org "$vasby" --role "tjänsteman, arbetsmarknadsenheten" --municipality "Upplands Väsby")
sara=$(s contact add --name "Sara Nilsson" --org "$sollentuna" --role politiker --municipality Sollentuna)
tomas=$(s contact add --name "Tomas Berg" --org "$af" --role kontaktperson)
eva=$(s contact add --name "Elin Ström" --org "$coomp" --role "föreläsare, offentlig upphandling")
anna=$(s contact add --name "Anna Ölund" --org "$varme" --role verksamhetsledare --municipality "Upplands Väsby")
goran=$(s contact add --name "Göran Holm" --org "$retur" --role "VD" --municipality Sigtuna)
fatima=$(s contact add --name "Fatima Hassan" --org "$kafe" --role verksamhetsledare --municipality Sigtuna)
nils=$(s contact add --name "Nils Åberg" --org "$haggvik" --role grundare --municipality Sollentuna)
emma=$(s contact add --name "Emma Falk" --org "$vasbyhem" --role "bostadssociala enheten" --municipality "Upplands Väsby")

# Meetings of 2019.
avst1=$(s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-04-29 --with "$lina" --with "$per" --org "$m29" --org "$forb")
s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-05-27 --with "$lina" --with "$per" --org "$m29" --org "$forb" >/dev/null
s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-09-30 --with "$lina" --with "$per" --org "$m29" --org "$forb" >/dev/null
s meeting add --title "Möte med sociala företag i Sigtuna" --date 2019-05-14 --with "$lina" --with "$goran" --with "$fatima" --org "$retur" --org "$kafe" --org "$textil" --municipality Sigtuna --notes "Önskemål om nätverk, erfarenhetsutbyte och gemensam marknadsföring; svårt att avsätta tid." >/dev/null
s meeting add --title "Tjänstemän och politiker, Sigtuna kommun" --date 2019-06-04 --with "$lina" --with "$karin" --with "$ahmed" --org "$sigtuna" --municipality Sigtuna --notes "Två IOP finns; önskan om strategi och handlingsplan för samarbete med ASF." >/dev/null
s meeting add --title "Arbetsförmedlingen: läget efter omorganisationen" --date 2019-05-21 --with "$lina" --with "$tomas" --org "$af" --notes "Samarbetet fungerar bra under våren." >/dev/null
vasbymote=$(s meeting add --title "Politiker och tjänstemän, Upplands Väsby" --date 2019-09-17 --with "$lina" --with "$maria" --with "$jonas" --org "$vasby" --municipality "Upplands Väsby" --notes "Behov av anpassade arbetsträningsplatser mellan daglig verksamhet och arbetsmarknaden.")
s meeting add --title "Väsbyhem: renhållningstjänster på prov" --date 2019-10-08 --with "$emma" --with "$anna" --org "$vasbyhem" --org "$varme" --municipality "Upplands Väsby" >/dev/null
s meeting add --title "Kompetens- och arbetsmarknadsnämnden, Sollentuna" --date 2019-10-22 --with "$lina" --with "$sara" --org "$sollentuna" --municipality Sollentuna --notes "Information om ASF på nämndens sammanträde." >/dev/null
s meeting add --title "Nytt café och catering vid Häggviks station" --date 2019-11-05 --with "$lina" --with "$nils" --org "$haggvik" --municipality Sollentuna >/dev/null
seminar=$(s meeting add --title "Lunchseminarium: upphandling som strategiskt verktyg" --date 2019-11-14 --with "$eva" --with "$lina" --with "$karin" --with "$jonas" --org "$coomp" --org "$m29" --notes "Inbjudan till politiker, tjänstemän och sociala företag i förbundets region.")
styrelse=$(s meeting add --title "Styrelsemöte, samordningsförbundet" --date 2020-01-28 --with "$per" --org "$forb")

# Decisions and their lifecycles.
avtal=$(s decision add --title "Samarbetsavtal med M29 2019" --text "M29 Socialt Företagscenter främjar utvecklingen av ASF i förbundets tre kommuner 2019-04-01 till 2019-12-31." --body Styrelsen --meeting "$avst1")
s decision adopt "$avtal" --reason "Beslutat av styrelsen" >/dev/null
plan=$(s decision add --title "Handlingsplan 2019" --text "Träffa alla ASF; kontakta politiker och tjänstemän i alla tre kommuner; hålla kontakt med Arbetsförmedlingen; avstämning en gång per månad." --body Styrelsen --meeting "$avst1")
s decision adopt "$plan" >/dev/null
s decision amend "$plan" --text "Som tidigare, och därtill ett lunchseminarium om upphandling under hösten." --reason "Tillägg efter avstämningen i september" >/dev/null
uppdrag=$(s decision add --title "Uppdraget 2020" --text "Uppdraget läggs på Coompanion Roslagen & Norrort med M29 och Tanke & Handling som kompletterande aktörer." --body Styrelsen --meeting "$styrelse")
s decision adopt "$uppdrag" >/dev/null
s decision add --title "Fokusområden 2020" --text "Stötta kommunernas processer; nätverk mellan ASF; möten mellan ASF, offentlig sektor och näringsliv; utbilda beslutsfattare; upphandling för social hållbarhet; policy och handlingsplaner i alla tre kommuner." --body Styrelsen --meeting "$styrelse" >/dev/null
policy=$(s decision add --title "Policy för ASF i Upplands Väsby" --text "Kommunen tar fram en policy och en handlingsplan för samarbete med ASF." --body "Kommunstyrelsen, Upplands Väsby" --meeting "$vasbymote")
s decision reject "$policy" --reason "Återremitteras: handlingsplan och resurser saknas" >/dev/null
sem=$(s decision add --title "Lunchseminarium om upphandling" --text "Förbundet bjuder in till ett lunchseminarium om upphandling som strategiskt verktyg." --body Styrelsen --meeting "$seminar")
s decision adopt "$sem" >/dev/null

echo "demo: loaded $(s org list --json | grep -o '"id"' | wc -l) organisations, $(s contact list --json | grep -o '"id"' | wc -l) contacts, $(s meeting list --json | grep -o '"id"' | wc -l) meetings, $(s decision list --json | grep -o '"id"' | wc -l) decisions"
