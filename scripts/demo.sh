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
forb=$(s org add --name "Samordningsförbundet" --kind authority --on 2019-01-01)
m29=$(s org add --name "M29 Socialt Företagscenter" --kind partner --sector "stöd till sociala företag" --on 2019-01-01)
coomp=$(s org add --name "Coompanion Roslagen & Norrort" --kind partner --sector "kooperativ utveckling" --on 2019-01-01)
tanke=$(s org add --name "Tanke & Handling" --kind partner --on 2019-01-01)
af=$(s org add --name "Arbetsförmedlingen" --kind authority --on 2019-01-01)
sigtuna=$(s org add --name "Sigtuna kommun" --kind municipality --municipality Sigtuna --on 2019-01-01)
vasby=$(s org add --name "Upplands Väsby kommun" --kind municipality --municipality "Upplands Väsby" --on 2019-01-01)
sollentuna=$(s org add --name "Sollentuna kommun" --kind municipality --municipality Sollentuna --on 2019-01-01)
vasbyhem=$(s org add --name "Väsbyhem" --kind company --municipality "Upplands Väsby" --sector fastigheter --on 2019-01-01)
retur=$(s org add --name "Returbutiken Märsta" --kind asf --municipality Sigtuna --sector "second hand" --iop --status active --founded 2009-03-01 --on 2019-01-01)
kafe=$(s org add --name "Kafé Trädgården" --kind asf --municipality Sigtuna --sector café --iop --status active --founded 2012-05-01 --on 2019-01-01)
textil=$(s org add --name "Textilverkstaden Sigtuna" --kind asf --municipality Sigtuna --sector textil --status active --founded 2014-09-01 --on 2019-01-01)
fast=$(s org add --name "Fastighetsservice Sigtuna" --kind asf --municipality Sigtuna --sector fastighetsskötsel --status active --founded 2016-02-01 --on 2019-01-01)
senior=$(s org add --name "Seniorservice Norr" --kind asf --municipality Sigtuna --sector "servicetjänster för pensionärer" --status active --founded 2017-08-01 --on 2019-01-01)
nystart=$(s org add --name "Nystart Sigtuna" --kind asf --municipality Sigtuna --sector "second hand" --sector café --status starting --founded 2019-03-18)
varme=$(s org add --name "Värmekällan" --kind asf --municipality "Upplands Väsby" --sector arbetsträning --status active --founded 2009-08-01 --on 2019-01-01)
natur=$(s org add --name "NaturhälsaCenter" --kind asf --municipality "Upplands Väsby" --sector friskvård --status starting --founded 2019-09-16)
haggvik=$(s org add --name "Café Häggvik" --kind asf --municipality Sollentuna --sector café --sector catering --status starting --founded 2019-10-07)

# Contacts (invented names).
lina=$(s contact add --name "Lina Sjöberg" --org "$m29" --role verksamhetsledare --email lina.sjoberg@example.org --on 2019-01-01)
per=$(s contact add --name "Per Almqvist" --org "$forb" --role förbundschef --email per.almqvist@example.org --on 2019-01-01)
karin=$(s contact add --name "Karin Dahl" --org "$sigtuna" --role tjänsteman --municipality Sigtuna --on 2019-01-01)
ahmed=$(s contact add --name "Ahmed Yusuf" --org "$sigtuna" --role politiker --municipality Sigtuna --on 2019-01-01)
maria=$(s contact add --name "Maria Lind" --org "$vasby" --role politiker --municipality "Upplands Väsby" --on 2019-01-01)
jonas=$(s contact add --name "Jonas Ek" --org "$vasby" --role "tjänsteman, arbetsmarknadsenheten" --municipality "Upplands Väsby" --on 2019-01-01)
sara=$(s contact add --name "Sara Nilsson" --org "$sollentuna" --role politiker --municipality Sollentuna --on 2019-01-01)
tomas=$(s contact add --name "Tomas Berg" --org "$af" --role kontaktperson --on 2019-01-01)
eva=$(s contact add --name "Elin Ström" --org "$coomp" --role "föreläsare, offentlig upphandling" --on 2019-01-01)
anna=$(s contact add --name "Anna Ölund" --org "$varme" --role verksamhetsledare --municipality "Upplands Väsby" --on 2019-01-01)
goran=$(s contact add --name "Göran Holm" --org "$retur" --role "VD" --municipality Sigtuna --on 2019-01-01)
fatima=$(s contact add --name "Fatima Hassan" --org "$kafe" --role verksamhetsledare --municipality Sigtuna --on 2019-01-01)
nils=$(s contact add --name "Nils Åberg" --org "$haggvik" --role grundare --municipality Sollentuna --on 2019-01-01)
emma=$(s contact add --name "Emma Falk" --org "$vasbyhem" --role "bostadssociala enheten" --municipality "Upplands Väsby" --on 2019-01-01)

# Meetings of 2019.
avst1=$(s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-04-29 --type check-in --with "$lina" --with "$per" --org "$m29" --org "$forb")
s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-05-27 --type check-in --with "$lina" --with "$per" --org "$m29" --org "$forb" >/dev/null
s meeting add --title "Avstämning M29 och samordningsförbundet" --date 2019-09-30 --type check-in --with "$lina" --with "$per" --org "$m29" --org "$forb" >/dev/null
s meeting add --title "Möte med sociala företag i Sigtuna" --date 2019-05-14 --with "$lina" --with "$goran" --with "$fatima" --org "$retur" --org "$kafe" --org "$textil" --municipality Sigtuna --notes "Önskemål om nätverk, erfarenhetsutbyte och gemensam marknadsföring; svårt att avsätta tid." >/dev/null
s meeting add --title "Tjänstemän och politiker, Sigtuna kommun" --date 2019-06-04 --with "$lina" --with "$karin" --with "$ahmed" --org "$sigtuna" --municipality Sigtuna --notes "Två IOP finns; önskan om strategi och handlingsplan för samarbete med ASF." >/dev/null
s meeting add --title "Arbetsförmedlingen: läget efter omorganisationen" --date 2019-05-21 --with "$lina" --with "$tomas" --org "$af" --notes "Samarbetet fungerar bra under våren." >/dev/null
vasbymote=$(s meeting add --title "Politiker och tjänstemän, Upplands Väsby" --date 2019-09-17 --with "$lina" --with "$maria" --with "$jonas" --org "$vasby" --municipality "Upplands Väsby" --notes "Behov av anpassade arbetsträningsplatser mellan daglig verksamhet och arbetsmarknaden.")
s meeting add --title "Väsbyhem: renhållningstjänster på prov" --date 2019-10-08 --with "$emma" --with "$anna" --org "$vasbyhem" --org "$varme" --municipality "Upplands Väsby" >/dev/null
s meeting add --title "Kompetens- och arbetsmarknadsnämnden, Sollentuna" --date 2019-10-22 --type committee --with "$lina" --with "$sara" --org "$sollentuna" --municipality Sollentuna --notes "Information om ASF på nämndens sammanträde." >/dev/null
s meeting add --title "Nytt café och catering vid Häggviks station" --date 2019-11-05 --with "$lina" --with "$nils" --org "$haggvik" --municipality Sollentuna >/dev/null
seminar=$(s meeting add --title "Lunchseminarium: upphandling som strategiskt verktyg" --date 2019-11-14 --type seminar --with "$eva" --with "$lina" --with "$karin" --with "$jonas" --org "$coomp" --org "$m29" --notes "Inbjudan till politiker, tjänstemän och sociala företag i förbundets region.")
styrelse=$(s meeting add --title "Styrelsemöte, samordningsförbundet" --date 2020-01-28 --type committee --with "$per" --org "$forb")

# Decisions and their lifecycles.
avtal=$(s decision add --title "Samarbetsavtal med M29 2019" --text "M29 Socialt Företagscenter främjar utvecklingen av ASF i förbundets tre kommuner 2019-04-01 till 2019-12-31." --body "$forb" --meeting "$avst1" --on 2019-03-15)
s decision adopt "$avtal" --on 2019-03-26 --minutes "Styrelsen 2019-03-26 § 5" --reason "Beslutat av styrelsen" >/dev/null
plan=$(s decision add --title "Handlingsplan 2019" --text "Träffa alla ASF; kontakta politiker och tjänstemän i alla tre kommuner; hålla kontakt med Arbetsförmedlingen; avstämning en gång per månad." --body "$forb" --meeting "$avst1" --on 2019-04-29)
s decision adopt "$plan" --on 2019-05-07 --minutes "Styrelsen 2019-05-07 § 8" >/dev/null
s decision amend "$plan" --text "Som tidigare, och därtill ett lunchseminarium om upphandling under hösten." --reason "Tillägg efter avstämningen i september" --on 2019-10-01 --minutes "Styrelsen 2019-10-01 § 6" >/dev/null
uppdrag=$(s decision add --title "Uppdraget 2020" --text "Uppdraget läggs på Coompanion Roslagen & Norrort med M29 och Tanke & Handling som kompletterande aktörer." --body "$forb" --meeting "$styrelse" --on 2020-01-28)
s decision adopt "$uppdrag" --on 2020-01-28 --minutes "Styrelsen 2020-01-28 § 3" >/dev/null
s decision add --title "Fokusområden 2020" --text "Stötta kommunernas processer; nätverk mellan ASF; möten mellan ASF, offentlig sektor och näringsliv; utbilda beslutsfattare; upphandling för social hållbarhet; policy och handlingsplaner i alla tre kommuner." --body "$forb" --meeting "$styrelse" --on 2020-01-28 >/dev/null
policy=$(s decision add --title "Policy för ASF i Upplands Väsby" --text "Kommunen tar fram en policy och en handlingsplan för samarbete med ASF." --body "$vasby" --meeting "$vasbymote" --on 2019-09-17)
s decision refer-back "$policy" --on 2019-10-25 --minutes "KS 2019-10-25 § 12" --reason "Handlingsplan och resurser saknas" >/dev/null
sem=$(s decision add --title "Lunchseminarium om upphandling" --text "Förbundet bjuder in till ett lunchseminarium om upphandling som strategiskt verktyg." --body "$forb" --meeting "$seminar" --on 2019-09-03)
s decision adopt "$sem" --on 2019-09-10 --minutes "Styrelsen 2019-09-10 § 4" >/dev/null

# Agreements and the work ahead.
s agreement add --title "IOP Returbutiken Märsta" --type iop --party "$retur" --party "$sigtuna" --start 2018-01-01 --end 2020-12-31 --case "KS 2017/0412" --municipality Sigtuna >/dev/null
s agreement add --title "IOP Kafé Trädgården" --type iop --party "$kafe" --party "$sigtuna" --start 2019-01-01 --end 2021-12-31 --municipality Sigtuna >/dev/null
s agreement add --title "Samverkansavtal M29 2019" --type samverkansavtal --party "$m29" --party "$forb" --start 2019-04-01 --end 2019-12-31 >/dev/null
s action add --title "Policy och handlingsplan för ASF i Upplands Väsby" --owner "$vasby" --due 2020-06-30 --from "$policy" --on 2019-10-25 >/dev/null
nat=$(s action add --title "Starta nätverk för ASF i Sigtuna" --owner "$m29" --municipality Sigtuna --due 2020-03-31 --from "$plan" --on 2019-05-14)
s action done "$nat" --meeting "$styrelse" --on 2020-01-28 >/dev/null
s agreement add --title "Renhållning i Väsbyhems trygghetsarbete" --type pilot --party "$vasbyhem" --party "$varme" --start 2019-10-15 --end 2020-02-29 --municipality "Upplands Väsby" >/dev/null
afkontakt=$(s action add --title "Ny kontaktperson på Arbetsförmedlingen" --owner "$m29" --owner "$af" --due 2019-11-30 --on 2019-09-02)
s action done "$afkontakt" --on 2020-02-14 >/dev/null
s action add --title "Möten mellan ASF, offentlig sektor och näringsliv" --owner "$coomp" --due 2020-05-31 --from "$seminar" --on 2019-11-14 >/dev/null

# After 2019 (a report of 2019 shows none of it).
s org update "$senior" --status dormant --on 2020-03-01 >/dev/null

echo "demo: loaded $(s org list --json | grep -o '"id"' | wc -l) organisations, $(s contact list --json | grep -o '"id"' | wc -l) contacts, $(s meeting list --json | grep -o '"id"' | wc -l) meetings, $(s decision list --json | grep -o '"id"' | wc -l) decisions, $(s agreement list --json | grep -o '"id"' | wc -l) agreements, $(s action list --json | grep -o '"id"' | wc -l) actions"
